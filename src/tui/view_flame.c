/* Flame: an ASCII flame graph of the window, root at the bottom, widths
 * from flame_layout, labels cut to the box, colour by module (monochrome:
 * boxes alternate reverse/normal). The cursor walks the boxes (Up: the
 * callee above, Down: the caller below, Left/Right: neighbours in the row);
 * Enter zooms into a frame, Esc zooms back out. Zoom and cursor are kept
 * by path of function names, so they survive refreshes. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tui/tui_impl.h"

#define NONE UINT32_MAX
#define ZOOM_MAX 64

struct flame_state {
	struct rnode *nodes; uint32_t n;
	uint64_t *keys;
	struct flame_box *boxes; int nb;   /* sorted by depth, then x */
	uint64_t zoom[ZOOM_MAX]; int nzoom;
	uint32_t zoom_node;
	uint64_t cur_key;
	int cur;                           /* box index, -1 none */
};

static struct flame_state *st(struct tui *t)
{
	if (!t->flame) {
		t->flame = xcalloc(1, sizeof *t->flame);
		t->flame->cur = -1;
	}
	return t->flame;
}

static const char *node_name(const struct tui *t, const struct flame_state *s, uint32_t i)
{
	uint32_t f = i < s->n ? s->nodes[i].func : NONE;
	return f < t->nfuncs ? t->funcs[f].name : "[all]";
}

static const char *node_module(const struct tui *t, const struct flame_state *s, uint32_t i)
{
	uint32_t f = i < s->n ? s->nodes[i].func : NONE;
	return f < t->nfuncs ? t->funcs[f].module : "";
}

/* Path keys for every node, parents before children whatever the order of
 * the array (memoized walk up the parent chain). */
static void compute_keys(struct tui *t, struct flame_state *s)
{
	uint32_t *chain = xmalloc((s->n ? s->n : 1) * sizeof *chain);

	free(s->keys);
	s->keys = xcalloc(s->n ? s->n : 1, sizeof *s->keys);
	if (s->n)
		s->keys[0] = 7;
	for (uint32_t i = 1; i < s->n; i++) {
		uint32_t len = 0, j = i;
		while (j != NONE && j < s->n && !s->keys[j] && len < s->n) {
			chain[len++] = j;
			j = s->nodes[j].parent;
		}
		uint64_t k = j != NONE && j < s->n ? s->keys[j] : 7;
		while (len > 0) {
			j = chain[--len];
			k = s->keys[j] = layout_path_key(k, node_name(t, s, j));
		}
	}
	free(chain);
}

static int find_node(const struct flame_state *s, uint64_t key)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (s->keys[i] == key)
			return (int)i;
	return -1;
}

static int find_box(const struct flame_state *s, uint32_t node)
{
	for (int b = 0; b < s->nb; b++)
		if (s->boxes[b].node == node)
			return b;
	return -1;
}

static int cmp_box(const void *a, const void *b)
{
	const struct flame_box *x = a, *y = b;
	if (x->depth != y->depth)
		return x->depth - y->depth;
	return x->x - y->x;
}

static void flame_collect(struct tui *t)
{
	struct flame_state *s = st(t);
	const struct rnode *nodes = NULL;
	struct flame_box *boxes = NULL;
	uint32_t n = 0;
	int nb = 0, z;

	if (t->r)
		nodes = report_tree(t->r, 0, &n);
	free(s->nodes);
	s->n = nodes ? n : 0;
	s->nodes = xmalloc((s->n ? s->n : 1) * sizeof *s->nodes);
	if (s->n)
		memcpy(s->nodes, nodes, s->n * sizeof *s->nodes);
	compute_keys(t, s);

	/* the zoomed frame may be gone (filters, window): zoom out until
	 * one is there */
	s->zoom_node = 0;
	while (s->nzoom > 0) {
		z = find_node(s, s->zoom[s->nzoom - 1]);
		if (z >= 0) {
			s->zoom_node = (uint32_t)z;
			break;
		}
		s->nzoom--;
	}
	free(s->boxes);
	s->boxes = NULL;
	s->nb = 0;
	if (t->r && s->n)
		nb = flame_layout(t->r, s->zoom_node, t->cols, &boxes);
	if (nb > 0 && boxes) {
		s->boxes = xmalloc((size_t)nb * sizeof *s->boxes);
		memcpy(s->boxes, boxes, (size_t)nb * sizeof *s->boxes);
		s->nb = nb;
		qsort(s->boxes, (size_t)nb, sizeof *s->boxes, cmp_box);
	}
	free(boxes);

	/* the cursor: its frame, or the nearest caller still wide enough */
	s->cur = -1;
	int node = find_node(s, s->cur_key);
	while (node >= 0 && s->cur < 0) {
		s->cur = find_box(s, (uint32_t)node);
		uint32_t p = s->nodes[node].parent;
		node = p == NONE || p >= s->n ? -1 : (int)p;
	}
	if (s->cur < 0 && s->nb)
		s->cur = 0;
	if (s->cur >= 0)
		s->cur_key = s->keys[s->boxes[s->cur].node];
}

static int box_role(const struct tui *t, const struct flame_state *s, int b, int idx_in_row)
{
	if (!t->color)
		return R_FLAME0 + ((s->boxes[b].depth + idx_in_row) & 1);
	return screen_module_role(node_module(t, s, s->boxes[b].node));
}

static void flame_draw(struct tui *t, int y, int h)
{
	struct flame_state *s = st(t);
	int nr = h - 2, voff = 0, idx = 0, prev_depth = -1;
	char title[512], label[512], a[16], b[16], c[16];
	uint64_t all = s->n ? s->nodes[0].total : 0;

	snprintf(title, sizeof title, " Flame graph  zoom: %s   (Enter: zoom, Esc: out, arrows: move, /: search)",
		 s->nzoom ? node_name(t, s, s->zoom_node) : "all");
	screen_put(y, 0, t->cols, screen_attr(R_TITLE), title, 1);
	if (!s->nb) {
		screen_put(y + 2, 2, t->cols - 2, screen_attr(R_DIM),
			   t->hdr.samples ? "no samples in this window or with these filters" :
			   "no samples yet: waiting for the target to use CPU", 0);
		return;
	}
	if (s->cur >= 0 && s->boxes[s->cur].depth >= nr)
		voff = s->boxes[s->cur].depth - nr + 1;
	for (int k = 0; k < s->nb; k++) {
		const struct flame_box *bx = &s->boxes[k];
		int row, attr, role;

		if (bx->depth != prev_depth) {
			prev_depth = bx->depth;
			idx = 0;
		} else {
			idx++;
		}
		if (bx->depth < voff || bx->depth >= voff + nr || bx->w < 1)
			continue;
		row = y + 1 + (nr - 1) - (bx->depth - voff);
		role = box_role(t, s, k, idx);
		attr = screen_attr(role);
		/* the default colours reversed: unlike any box of the palette
		 * (underlined too, for monochrome's reverse boxes) */
		if (k == s->cur)
			attr = A_REVERSE | A_BOLD | A_UNDERLINE;
		else if (tui_match(t, node_name(t, s, bx->node)))
			attr = screen_attr(R_MATCH) | A_REVERSE;
		layout_flame_label(node_name(t, s, bx->node), bx->w, label, sizeof label);
		/* the last column is the gap that separates neighbours */
		screen_put(row, bx->x, bx->w > 1 ? bx->w - 1 : 1, attr, label, 1);
	}
	if (voff > 0)
		screen_printf(y + nr, 0, 20, screen_attr(R_DIM), "(%d rows below)", voff);

	/* the frame under the cursor, in words */
	if (s->cur >= 0) {
		uint32_t nd = s->boxes[s->cur].node;
		const struct rnode *r = &s->nodes[nd];
		const struct sfunc *f = r->func < t->nfuncs ? &t->funcs[r->func] : NULL;
		char where[300] = "";
		if (f && f->file) {
			const char *bn = strrchr(f->file, '/');
			snprintf(where, sizeof where, "  %s:%d", bn ? bn + 1 : f->file, f->line);
		}
		char mod[80] = "";
		if (f && f->module[0])
			snprintf(mod, sizeof mod, "  [%.70s]", f->module);
		snprintf(title, sizeof title, "%s%s%s  cum %s (%s)  self %s",
			 node_name(t, s, nd), mod, where,
			 layout_fmt_count(r->total, a, sizeof a), layout_fmt_pct(r->total, all, b, sizeof b),
			 layout_fmt_count(r->self, c, sizeof c));
		screen_put(y + h - 1, 0, t->cols, A_BOLD, title, 0);
	}
}

static int move_vertical(struct flame_state *s, int up)
{
	const struct flame_box *c;
	int best = -1;

	if (s->cur < 0)
		return -1;
	c = &s->boxes[s->cur];
	for (int b = 0; b < s->nb; b++) {
		const struct flame_box *x = &s->boxes[b];
		if (up) {
			/* a callee above: inside our span; the widest */
			if (x->depth == c->depth + 1 && x->x >= c->x && x->x < c->x + c->w &&
			    (best < 0 || x->w > s->boxes[best].w))
				best = b;
		} else if (x->depth == c->depth - 1 && x->x <= c->x && c->x < x->x + x->w) {
			best = b;   /* the caller below */
		}
	}
	if (best < 0)
		return ACT_NONE;
	s->cur = best;
	return ACT_DRAW;
}

static int flame_key(struct tui *t, int ch)
{
	struct flame_state *s = st(t);
	int r = -1;

	if (s->cur < 0 && !key_is_back(ch))
		return -1;
	switch (ch) {
	case KEY_UP: case 'k':
		r = move_vertical(s, 1);
		break;
	case KEY_DOWN: case 'j':
		r = move_vertical(s, 0);
		break;
	case KEY_LEFT:
		if (s->cur > 0 && s->boxes[s->cur - 1].depth == s->boxes[s->cur].depth)
			s->cur--;
		r = ACT_DRAW;
		break;
	case KEY_RIGHT: case 'l':
		if (s->cur + 1 < s->nb && s->boxes[s->cur + 1].depth == s->boxes[s->cur].depth)
			s->cur++;
		r = ACT_DRAW;
		break;
	case KEY_HOME: case 'g':
		s->cur = 0;
		r = ACT_DRAW;
		break;
	case KEY_END: case 'G': {
		/* the top of the hottest path: keep climbing the widest callee */
		while (move_vertical(s, 1) == ACT_DRAW)
			;
		r = ACT_DRAW;
		break;
	}
	default:
		if (key_is_enter(ch)) {
			uint32_t nd = s->boxes[s->cur].node;
			if (nd == s->zoom_node || nd == 0 || s->nzoom == ZOOM_MAX)
				return ACT_NONE;
			s->zoom[s->nzoom++] = s->keys[nd];
			s->cur_key = s->keys[nd];
			return ACT_COLLECT | ACT_DRAW;
		}
		if (key_is_back(ch)) {
			if (!s->nzoom)
				return ACT_NONE;
			s->nzoom--;
			return ACT_COLLECT | ACT_DRAW;
		}
		return -1;
	}
	if (s->cur >= 0)
		s->cur_key = s->keys[s->boxes[s->cur].node];
	return r;
}

static const char *flame_selected(struct tui *t)
{
	struct flame_state *s = st(t);
	uint32_t f;

	if (s->cur < 0)
		return NULL;
	f = s->nodes[s->boxes[s->cur].node].func;
	return f < t->nfuncs ? t->funcs[f].name : NULL;
}

static int flame_search(struct tui *t, int dir)
{
	struct flame_state *s = st(t);
	int n = s->nb, start = s->cur < 0 ? 0 : s->cur;

	if (n <= 0)
		return -1;
	for (int k = 1; k <= n; k++) {
		int b = ((start + dir * k) % n + n) % n;
		if (tui_match(t, node_name(t, s, s->boxes[b].node))) {
			s->cur = b;
			s->cur_key = s->keys[s->boxes[b].node];
			return ACT_DRAW;
		}
	}
	return -1;
}

static void flame_free(struct tui *t)
{
	struct flame_state *s = t->flame;

	if (!s)
		return;
	free(s->nodes);
	free(s->keys);
	free(s->boxes);
	free(s);
	t->flame = NULL;
}

const struct view_ops view_flame = {
	.name = "Flame", .collect = flame_collect, .draw = flame_draw, .key = flame_key,
	.selected = flame_selected, .search = flame_search, .free = flame_free,
};
