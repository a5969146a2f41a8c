/* Key handling: one table indexed by key, each entry an action returning
 * what to redo (ACT_* flags, htop's Action.c pattern). Movement, Enter and
 * Esc go to the current view, which knows what they mean there. */
#include <curses.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "tui/tui_impl.h"

typedef int (*action_fn)(struct tui *t, int ch);

#define CTRL(c) ((c) & 0x1f)

int key_is_enter(int ch)
{
	return ch == '\n' || ch == '\r' || ch == KEY_ENTER;
}

int key_is_back(int ch)
{
	return ch == 27 || ch == KEY_BACKSPACE || ch == 127 || ch == CTRL('h');
}

int keys_list_move(struct scroll *s, int ch, int n, int h)
{
	switch (ch) {
	case KEY_UP: case 'k':
		layout_scroll_move(s, -1, n, h);
		break;
	case KEY_DOWN: case 'j':
		layout_scroll_move(s, 1, n, h);
		break;
	case KEY_PPAGE: case CTRL('b'):
		layout_scroll_move(s, -(h > 1 ? h - 1 : 1), n, h);
		break;
	case KEY_NPAGE: case CTRL('f'):
		layout_scroll_move(s, h > 1 ? h - 1 : 1, n, h);
		break;
	case KEY_HOME: case 'g':
		layout_scroll_to(s, 0, n, h);
		break;
	case KEY_END: case 'G':
		layout_scroll_to(s, n - 1, n, h);
		break;
	default:
		return -1;
	}
	return ACT_DRAW;
}

static int act_view(struct tui *t, int ch)
{
	int r = tui_views[t->view]->key(t, ch);
	return r < 0 ? ACT_NONE : r;
}

static int switch_view(struct tui *t, int v)
{
	if (v == t->view)
		return ACT_DRAW;
	/* the function selected here is the one the next view talks about */
	tui_set_sel(t, tui_views[t->view]->selected(t));
	t->view = v;
	return ACT_COLLECT | ACT_DRAW;
}

static int act_number(struct tui *t, int ch)
{
	return switch_view(t, ch - '1');
}

static int act_tab(struct tui *t, int ch)
{
	int d = ch == KEY_BTAB ? VIEW_COUNT - 1 : 1;
	return switch_view(t, (t->view + d) % VIEW_COUNT);
}

static int act_quit(struct tui *t, int ch)
{
	return ACT_QUIT;
}

static int act_help(struct tui *t, int ch)
{
	t->help = 1;
	return ACT_DRAW;
}

static int act_pause(struct tui *t, int ch)
{
	t->paused = !t->paused;
	if (t->paused) {
		t->pause_ns = now_ns();
		tui_status(t, "display paused; sampling continues (p or space resumes)");
		return ACT_DRAW;
	}
	tui_status(t, "display resumed");
	return ACT_BUILD | ACT_DRAW;
}

static int act_window(struct tui *t, int ch)
{
	t->window = (t->window + 1) % WINDOW_COUNT;
	tui_status(t, "window: %s", window_name(t->window));
	return ACT_BUILD | ACT_DRAW;
}

static int act_reset(struct tui *t, int ch)
{
	tui_reset(t);
	return ACT_BUILD | ACT_DRAW;
}

static int act_snapshot(struct tui *t, int ch)
{
	tui_snapshot(t);
	return ACT_COLLECT | ACT_DRAW;
}

static int act_filter(struct tui *t, int ch)
{
	const char *name = tui_views[t->view]->selected(t);
	int which = ch == 'f' ? 0 : ch == 'i' ? 1 : 2;

	if (!name) {
		tui_status(t, "no function selected here");
		return ACT_DRAW;
	}
	tui_set_sel(t, name);
	tui_filter_set(t, which, t->sel);
	return ACT_BUILD | ACT_DRAW;
}

static int act_clear_filters(struct tui *t, int ch)
{
	tui_filters_clear(t);
	return ACT_BUILD | ACT_DRAW;
}

static int act_search_prompt(struct tui *t, int ch)
{
	/* a fresh pattern each time, as in less and htop */
	t->prompt = 1;
	t->pbuf[0] = 0;
	t->plen = 0;
	return ACT_DRAW;
}

static int search_step(struct tui *t, int dir)
{
	int r;

	if (!t->have_re) {
		tui_status(t, "no search pattern: / to search");
		return ACT_DRAW;
	}
	r = tui_views[t->view]->search(t, dir);
	if (r < 0) {
		tui_status(t, "no match for /%s in %s", t->search, tui_views[t->view]->name);
		return ACT_DRAW;
	}
	tui_status(t, "search /%s  (n: next, N: previous)", t->search);
	return r | ACT_DRAW;
}

static int act_search_next(struct tui *t, int ch)
{
	return search_step(t, ch == 'N' ? -1 : 1);
}

static int act_sort(struct tui *t, int ch)
{
	static const char *const names[SORT_COUNT] = { "flat", "flat%", "cum", "cum%", "name" };
	int d = ch == '<' || ch == ',' ? SORT_COUNT - 1 : 1;

	t->sort = (t->sort + d) % SORT_COUNT;
	tui_status(t, "sorted by %s", names[t->sort]);
	return ACT_COLLECT | ACT_DRAW;
}

static int act_invert(struct tui *t, int ch)
{
	t->inverted = !t->inverted;
	tui_status(t, "call tree %s", t->inverted ? "inverted (callees at the root)" : "from the roots");
	if (t->view != VIEW_TREE)
		return switch_view(t, VIEW_TREE);
	return ACT_COLLECT | ACT_DRAW;
}

static int act_redraw(struct tui *t, int ch)
{
	screen_repaint_all();
	return ACT_DRAW;
}

static const action_fn keytab[KEY_MAX + 1] = {
	['1'] = act_number, ['2'] = act_number, ['3'] = act_number,
	['4'] = act_number, ['5'] = act_number, ['6'] = act_number,
	['\t'] = act_tab, [KEY_BTAB] = act_tab,
	['q'] = act_quit, ['Q'] = act_quit,
	['?'] = act_help, [KEY_F(1)] = act_help,
	['p'] = act_pause, [' '] = act_pause,
	['w'] = act_window,
	['r'] = act_reset,
	['s'] = act_snapshot,
	['f'] = act_filter, ['i'] = act_filter, ['h'] = act_filter,
	['F'] = act_clear_filters,
	['/'] = act_search_prompt,
	['n'] = act_search_next, ['N'] = act_search_next,
	['<'] = act_sort, ['>'] = act_sort, [','] = act_sort, ['.'] = act_sort,
	['I'] = act_invert,
	[CTRL('l')] = act_redraw,
	/* view keys */
	[KEY_UP] = act_view, [KEY_DOWN] = act_view, [KEY_LEFT] = act_view,
	[KEY_RIGHT] = act_view, [KEY_PPAGE] = act_view, [KEY_NPAGE] = act_view,
	[KEY_HOME] = act_view, [KEY_END] = act_view,
	['j'] = act_view, ['k'] = act_view, ['l'] = act_view, ['g'] = act_view, ['G'] = act_view,
	[CTRL('b')] = act_view, [CTRL('f')] = act_view,
	['\n'] = act_view, ['\r'] = act_view, [KEY_ENTER] = act_view,
	[27] = act_view, [KEY_BACKSPACE] = act_view, [127] = act_view, [CTRL('h')] = act_view,
	['t'] = act_view,
};

static int prompt_key(struct tui *t, int ch)
{
	if (ch == 27) {
		t->prompt = 0;
		return ACT_DRAW;
	}
	if (key_is_enter(ch)) {
		regex_t re;
		int e;

		t->prompt = 0;
		if (!t->plen) {
			if (t->have_re)
				regfree(&t->re);
			t->have_re = 0;
			t->search[0] = 0;
			tui_status(t, "search cleared");
			return ACT_DRAW;
		}
		e = regcomp(&re, t->pbuf, REG_EXTENDED | REG_ICASE | REG_NOSUB);
		if (e) {
			char msg[128];
			regerror(e, &re, msg, sizeof msg);
			tui_status(t, "bad regex /%s: %s", t->pbuf, msg);
			return ACT_DRAW;
		}
		if (t->have_re)
			regfree(&t->re);
		t->re = re;
		t->have_re = 1;
		snprintf(t->search, sizeof t->search, "%s", t->pbuf);
		return search_step(t, 1);
	}
	if (ch == KEY_BACKSPACE || ch == 127 || ch == CTRL('h')) {
		if (t->plen) {
			/* drop a whole UTF-8 sequence */
			do
				t->plen--;
			while (t->plen && ((unsigned char)t->pbuf[t->plen] & 0xc0) == 0x80);
			t->pbuf[t->plen] = 0;
		}
		return ACT_DRAW;
	}
	if (ch == CTRL('u')) {
		t->plen = 0;
		t->pbuf[0] = 0;
		return ACT_DRAW;
	}
	if (ch >= 32 && ch < 256 && ch != 127 && t->plen + 1 < sizeof t->pbuf) {
		t->pbuf[t->plen++] = (char)ch;
		t->pbuf[t->plen] = 0;
		return ACT_DRAW;
	}
	return ACT_NONE;
}

int keys_handle(struct tui *t, int ch)
{
	if (t->prompt)
		return prompt_key(t, ch);
	if (t->help) {
		/* any key leaves the help; q still quits */
		if (ch == 'q' || ch == 'Q')
			return ACT_QUIT;
		t->help = 0;
		return ACT_DRAW;
	}
	if (ch < 0 || ch > KEY_MAX || !keytab[ch])
		return ACT_NONE;
	return keytab[ch](t, ch);
}
