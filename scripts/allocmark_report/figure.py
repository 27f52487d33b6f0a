# Figures sized for the page: 11.5 in at 100 dpi is the page's 1150 px
# content width, so a chart is shown at its own size, never scaled down.
"""Figure creation, the footer and saving (PNG + SVG)."""

import os

PAGE_IN = 11.5
DPI = 100


def new_figure(nplots, ncols, panel_h, legend_rows=1):
    """A grid of `nplots` panels in up to `ncols` columns filling the page,
    under a row that holds the legend (see `legend`)."""
    import matplotlib.pyplot as plt
    ncols = max(1, min(ncols, nplots))
    nrows = (nplots + ncols - 1) // ncols
    legend_h = 0.22 * legend_rows + 0.1
    fig = plt.figure(figsize=(PAGE_IN, panel_h * nrows + legend_h + 0.8), layout="constrained")
    grid = fig.add_gridspec(nrows + 1, ncols, height_ratios=[legend_h] + [panel_h] * nrows)
    fig.legend_ax = fig.add_subplot(grid[0, :])
    fig.legend_ax.axis("off")
    axes = [fig.add_subplot(grid[1 + i // ncols, i % ncols]) for i in range(nplots)]
    return fig, axes


def legend(fig, handles, ncol=6):
    """The figure's legend, in the row new_figure kept for it."""
    fig.legend_ax.legend(handles=handles, loc="center", ncol=min(ncol, len(handles)),
                         fontsize=8, frameon=False)


def finish(fig, res, out, name, charts, title, how, section):
    """Footer naming the run, PNG + SVG, and an entry for the page."""
    import matplotlib.pyplot as plt
    fig.text(0.005, 0.001, res.footer(), fontsize=7, color="#444", va="bottom", ha="left")
    fig.get_layout_engine().set(h_pad=0.06, rect=(0, 0.025, 1, 0.975))
    fig.savefig(os.path.join(out, name + ".png"), dpi=DPI)
    fig.savefig(os.path.join(out, name + ".svg"), metadata={"Date": None})
    plt.close(fig)
    charts.append({"name": name, "title": title, "how": how, "section": section})

