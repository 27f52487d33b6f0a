-- sqlite3's program cell and shipped trace: an in-memory database filled,
-- indexed, joined, grouped and updated; prints one checkable line.
CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT, price REAL, tag TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)
INSERT INTO item SELECT i, printf('item-%06d-%s', i, hex(randomblob(8))),
  (i * 37 % 1000) / 10.0, printf('tag%02d', i % 50) FROM n;
CREATE INDEX item_tag ON item(tag);
CREATE INDEX item_name ON item(name);
CREATE TABLE sale(item_id INTEGER, qty INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)
INSERT INTO sale SELECT (i * 7919) % 60000 + 1, i % 9 + 1 FROM n;
UPDATE item SET name = name || '-' || tag WHERE id % 3 = 0;
DELETE FROM item WHERE id % 11 = 0;
CREATE TABLE summary AS
  SELECT tag, count(*) AS n, sum(price * qty) AS revenue,
         group_concat(substr(name, 1, 12), ',') AS names
  FROM item JOIN sale ON sale.item_id = item.id GROUP BY tag ORDER BY revenue DESC;
SELECT 'rows ' || (SELECT count(*) FROM item) || ' groups ' || count(*) FROM summary;
