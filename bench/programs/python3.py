# python3's program cell and shipped trace: pure-Python work that allocates
# the way Python programs do (small objects, dicts, strings, lists that
# grow); prints one checkable line. Deterministic: no hashing of str keys
# reaches the output.
import json


class Node:
    __slots__ = ("key", "left", "right")

    def __init__(self, key):
        self.key = key
        self.left = None
        self.right = None


def insert(root, key):
    if root is None:
        return Node(key)
    node = root
    while True:
        if key < node.key:
            if node.left is None:
                node.left = Node(key)
                return root
            node = node.left
        else:
            if node.right is None:
                node.right = Node(key)
                return root
            node = node.right


def depth(node):
    best, stack = 0, [(node, 1)]
    while stack:
        n, d = stack.pop()
        if n is not None:
            best = max(best, d)
            stack.append((n.left, d + 1))
            stack.append((n.right, d + 1))
    return best


root = None
for i in range(40000):
    root = insert(root, (i * 7919) % 40009)
words = {}
for i in range(60000):
    w = "w%d" % (i * 31 % 5000)
    words.setdefault(w, []).append(i)
docs = [json.dumps({"id": i, "tags": ["t%d" % (i % 7)] * (i % 5)}) for i in range(20000)]
parsed = sum(len(json.loads(d)["tags"]) for d in docs)
text = " ".join("%s:%d" % (w, len(v)) for w, v in sorted(words.items()))
print("depth", depth(root), "words", len(words), "tags", parsed, "text", len(text))
