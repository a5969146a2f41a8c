/* The terminal UI. All curses state lives in src/tui/. */
#ifndef CTOP_TUI_H
#define CTOP_TUI_H

struct app;
/* Runs until quit (or -d with nothing else to do). Returns the exit status.
 * Restores the terminal on every path, including fatal signals. */
int tui_run(struct app *a);

#endif
