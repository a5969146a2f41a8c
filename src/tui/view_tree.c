/* Tree: the call tree from the roots (or inverted with I), expandable.
 * Nodes are known across refreshes by the hash of their path of function
 * names, so what the user opened stays open while the numbers change.
 * Unless the user said otherwise, a node holding >= 20% of the samples is
 * open: the hot paths show without a key press. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tui/tui_impl.h"

#define NONE UINT32_MAX

struct ov { uint64_t key; signed char open; };

struct tree_state {
	struct rnode *nodes; uint32_t n;
	uint64_t *keys;             /* path hash per node */
	uint32_t *dfs; int *ddepth; uint32_t ndfs;   /* preorder of all nodes */
	int inverted;
	uint32_t *rows; int *depth; int nrows;       /* visible rows */
	struct scroll sc;
	uint64_t cur_key;
	struct ov *ov; size_t ovcap, nov;            /* user's open/close */
};

static struct tree_state *st(struct tui *t)
{
	if (!t->tree)
		t->tree = xcalloc(1, sizeof *t->tree);
	return t->tree;
}

static int ov_get(const struct tree_state *s, uint64_t key)
{
	if (!s->ovcap)
		return -1;
	for (size_t i = key & (s->ovcap - 1); s->ov[i].key; i = (i + 1) & (s->ovcap - 1))
		if (s->ov[i].key == key)
			return s->ov[i].open;
	return -1;
}

static void ov_set(struct tree_state *s, uint64_t key, int open)
{
	size_t i;

	if ((s->nov + 1) * 2 > s->ovcap) {
		size_t ncap = s->ovcap ? s->ovcap * 2 : 64;
		struct ov *n = xcalloc(ncap, sizeof *n);
		for (size_t k = 0; k < s->ovcap; k++) {
			if (!s->ov[k].key)
				continue;
			for (i = s->ov[k].key & (ncap - 1); n[i].key; i = (i + 1) & (ncap - 1))
				;
			n[i] = s->ov[k];
		}
		free(s->ov);
		s->ov = n;
		s->ovcap = ncap;
	}
	for (i = key & (s->ovcap - 1); s->ov[i].key; i = (i + 1) & (s->ovcap - 1)) {
		if (s->ov[i].key == key) {
			s->ov[i].open = (signed char)open;
			return;
		}
	}
	s->ov[i] = (struct ov){ key, (signed char)open };
	s->nov++;
}

static const char *node_name(const struct tui *t, const struct rnode *r)
{
	if (r->func == NONE || r->func >= t->nfuncs)
		return "[all]";
	return t->funcs[r->func].name;
}

static int has_children(const struct tree_state *s, uint32_t i)
{
	return s->nodes[i].first_child != NONE;
}

static int is_open(const struct tui *t, const struct tree_state *s, uint32_t i)
{
	int o = ov_get(s, s->keys[i]);
	uint64_t all = s->n ? s->nodes[0].total : 0;
	if (o >= 0)
		return o;
	return all && s->nodes[i].total * 5 >= all;
}

/* Preorder of the whole tree with depths and path keys (an explicit stack:
 * call trees can be as deep as CTOP_MAX_FRAMES). */
static void index_tree(struct tui *t, struct tree_state *s)
{
	uint32_t *stack;
	int *sdepth, sp = 0;

	free(s->keys);
	free(s->dfs);
	free(s->ddepth);
	s->keys = xcalloc(s->n ? s->n : 1, sizeof *s->keys);
	s->dfs = xmalloc((s->n ? s->n : 1) * sizeof *s->dfs);
	s->ddepth = xmalloc((s->n ? s->n : 1) * sizeof *s->ddepth);
	s->ndfs = 0;
	if (!s->n)
		return;
	stack = xmalloc(s->n * sizeof *stack);
	sdepth = xmalloc(s->n * sizeof *sdepth);
	s->keys[0] = s->inverted ? 3 : 5;
	stack[sp] = 0;
	sdepth[sp++] = -1;
	while (sp > 0) {
		uint32_t i = stack[--sp];
		int d = sdepth[sp];
		uint32_t kids[64], nk = 0;

		if (i != 0) {
			s->dfs[s->ndfs] = i;
			s->ddepth[s->ndfs++] = d;
		}
		/* push children in reverse so the heaviest comes out first */
		uint32_t c = s->nodes[i].first_child, cnt = 0;
		for (uint32_t k = c; k != NONE && k < s->n; k = s->nodes[k].next_sibling)
			cnt++;
		uint32_t *tmp = cnt <= 64 ? kids : xmalloc(cnt * sizeof *tmp);
		for (uint32_t k = c; k != NONE && k < s->n; k = s->nodes[k].next_sibling) {
			s->keys[k] = layout_path_key(s->keys[i], node_name(t, &s->nodes[k]));
			tmp[nk++] = k;
		}
		for (uint32_t k = nk; k > 0 && sp < (int)s->n; k--) {
			stack[sp] = tmp[k - 1];
			sdepth[sp++] = d + 1;
		}
		if (tmp != kids)
			free(tmp);
	}
	free(stack);
	free(sdepth);
}

static void build_rows(struct tui *t, struct tree_state *s)
{
	int skip_below = -1;   /* depth of a closed node whose subtree we skip */

	free(s->rows);
	free(s->depth);
	s->rows = xmalloc((s->ndfs ? s->ndfs : 1) * sizeof *s->rows);
	s->depth = xmalloc((s->ndfs ? s->ndfs : 1) * sizeof *s->depth);
	s->nrows = 0;
	for (uint32_t k = 0; k < s->ndfs; k++) {
		uint32_t i = s->dfs[k];
		int d = s->ddepth[k];
		if (skip_below >= 0 && d > skip_below)
			continue;
		skip_below = -1;
		s->rows[s->nrows] = i;
		s->depth[s->nrows++] = d;
		if (has_children(s, i) && !is_open(t, s, i))
			skip_below = d;
	}
	/* the cursor stays on its node */
	for (int r = 0; r < s->nrows; r++) {
		if (s->keys[s->rows[r]] == s->cur_key) {
			s->sc.cursor = r;
			break;
		}
	}
	layout_scroll_fix(&s->sc, s->nrows, t->vh - 1);
	if (s->nrows)
		s->cur_key = s->keys[s->rows[s->sc.cursor]];
}

static void tree_collect(struct tui *t)
{
	struct tree_state *s = st(t);
	const struct rnode *nodes = NULL;
	uint32_t n = 0;

	if (t->r)
		nodes = report_tree(t->r, t->inverted, &n);
	free(s->nodes);
	s->n = nodes ? n : 0;
	s->nodes = xmalloc((s->n ? s->n : 1) * sizeof *s->nodes);
	if (s->n)
		memcpy(s->nodes, nodes, s->n * sizeof *s->nodes);
	if (s->inverted != t->inverted) {
		s->sc.cursor = s->sc.offset = 0;
		s->cur_key = 0;
	}
	s->inverted = t->inverted;
	index_tree(t, s);
	build_rows(t, s);
}

static void tree_draw(struct tui *t, int y, int h)
{
	struct tree_state *s = st(t);
	const char *open_g = t->unicode ? "\xe2\x96\xbe " : "- ";
	const char *closed_g = t->unicode ? "\xe2\x96\xb8 " : "+ ";
	int hdr = screen_attr(R_COLHDR), rows = h - 1;
	char a[16], b[16], c[16], title[128];

	screen_fill(y, 0, t->cols, hdr, ' ');
	snprintf(title, sizeof title, "function (%s; Enter/Right: open, Left: close, I: invert)",
		 s->inverted ? "inverted: callers below callees" : "callees below callers");
	screen_printf(y, 0, 22, hdr, "%7s%7s%7s", "cum%", "cum", "self");
	screen_put(y, 23, t->cols - 23, hdr, title, 0);
	if (!s->nrows) {
		screen_put(y + 2, 2, t->cols - 2, screen_attr(R_DIM),
			   t->hdr.samples ? "no samples in this window or with these filters" :
			   "no samples yet: waiting for the target to use CPU", 0);
		return;
	}
	layout_scroll_fix(&s->sc, s->nrows, rows);
	for (int r = s->sc.offset; r < s->nrows && r < s->sc.offset + rows; r++) {
		uint32_t i = s->rows[r];
		const struct rnode *nd = &s->nodes[i];
		int yy = y + 1 + r - s->sc.offset, sel = r == s->sc.cursor;
		int attr = sel ? screen_attr(R_SELECTED) : (int)A_NORMAL;
		const char *name = node_name(t, nd);
		int maxind = t->cols - 23 - 24, ind = s->depth[r] * 2, x;

		if (maxind < 0)
			maxind = 0;
		if (ind > maxind)
			ind = maxind;    /* very deep: keep the names readable */
		if (sel)
			screen_fill(yy, 0, t->cols, attr, ' ');
		screen_printf(yy, 0, 22, attr, "%7s%7s%7s",
			      layout_fmt_pct(nd->total, s->nodes[0].total, a, sizeof a),
			      layout_fmt_count(nd->total, b, sizeof b),
			      layout_fmt_count(nd->self, c, sizeof c));
		x = 23 + ind;
		x += screen_put(yy, x, t->cols - x, attr,
				!has_children(s, i) ? "  " : is_open(t, s, i) ? open_g : closed_g, 0);
		x += screen_put(yy, x, t->cols - x, !sel && tui_match(t, name) ?
				screen_attr(R_MATCH) : attr, name, 0);
		if (nd->func < t->nfuncs && x + 2 < t->cols)
			screen_put(yy, x + 2, t->cols - x - 2, sel ? attr : screen_attr(R_DIM),
				   t->funcs[nd->func].module, 0);
	}
}

static int cursor_node(const struct tree_state *s)
{
	return s->nrows && s->sc.cursor < s->nrows ? (int)s->rows[s->sc.cursor] : -1;
}

static int tree_key(struct tui *t, int ch)
{
	struct tree_state *s = st(t);
	int i = cursor_node(s), r;

	r = keys_list_move(&s->sc, ch, s->nrows, t->vh - 1);
	if (r >= 0) {
		if (s->nrows)
			s->cur_key = s->keys[s->rows[s->sc.cursor]];
		return r;
	}
	if (i < 0)
		return -1;
	if (key_is_enter(ch)) {
		if (has_children(s, (uint32_t)i))
			ov_set(s, s->keys[i], !is_open(t, s, (uint32_t)i));
	} else if (ch == KEY_RIGHT || ch == 'l') {
		if (!has_children(s, (uint32_t)i))
			return ACT_NONE;
		if (is_open(t, s, (uint32_t)i))
			layout_scroll_move(&s->sc, 1, s->nrows, t->vh - 1);   /* to the first child */
		else
			ov_set(s, s->keys[i], 1);
	} else if (ch == KEY_LEFT || key_is_back(ch)) {
		if (has_children(s, (uint32_t)i) && is_open(t, s, (uint32_t)i)) {
			ov_set(s, s->keys[i], 0);
		} else {
			/* to the parent row */
			int d = s->depth[s->sc.cursor];
			for (int k = s->sc.cursor - 1; k >= 0; k--) {
				if (s->depth[k] < d) {
					s->sc.cursor = k;
					break;
				}
			}
		}
	} else {
		return -1;
	}
	s->cur_key = s->keys[s->rows[s->sc.cursor]];
	build_rows(t, s);
	return ACT_DRAW;
}

static const char *tree_selected(struct tui *t)
{
	struct tree_state *s = st(t);
	int i = cursor_node(s);
	return i < 0 || s->nodes[i].func >= t->nfuncs ? NULL : t->funcs[s->nodes[i].func].name;
}

/* Searches the whole tree, not only the open part, and opens the way to
 * the match. */
static int tree_search(struct tui *t, int dir)
{
	struct tree_state *s = st(t);
	int n = (int)s->ndfs, start = 0, cur = cursor_node(s);

	if (!n)
		return -1;
	for (int k = 0; k < n; k++)
		if ((int)s->dfs[k] == cur)
			start = k;
	for (int k = 1; k <= n; k++) {
		int j = ((start + dir * k) % n + n) % n;
		uint32_t i = s->dfs[j];
		if (!tui_match(t, node_name(t, &s->nodes[i])))
			continue;
		/* open the ancestors: walk back in preorder to shallower nodes */
		int d = s->ddepth[j];
		for (int q = j - 1; q >= 0 && d > 0; q--) {
			if (s->ddepth[q] < d) {
				ov_set(s, s->keys[s->dfs[q]], 1);
				d = s->ddepth[q];
			}
		}
		s->cur_key = s->keys[i];
		build_rows(t, s);
		return ACT_DRAW;
	}
	return -1;
}

static void tree_free(struct tui *t)
{
	struct tree_state *s = t->tree;

	if (!s)
		return;
	free(s->nodes);
	free(s->keys);
	free(s->dfs);
	free(s->ddepth);
	free(s->rows);
	free(s->depth);
	free(s->ov);
	free(s);
	t->tree = NULL;
}

const struct view_ops view_tree = {
	.name = "Tree", .collect = tree_collect, .draw = tree_draw, .key = tree_key,
	.selected = tree_selected, .search = tree_search, .free = tree_free,
};
