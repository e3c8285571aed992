/*
 * admin.h: the admin console (service = admin). Loop thread.
 *
 * RELOAD and SHUTDOWN act on the whole server, which sits above the
 * services: the server installs what they call.
 */
#ifndef ECHOD_ADMIN_H
#define ECHOD_ADMIN_H

#include <stddef.h>

#define ADMIN_MAX_LINE		1024
#define ADMIN_MAX_ARGS		4

/* One console line, split into words and matched against the command table. */
struct admin_request {
	char	 buf[ADMIN_MAX_LINE + 1];
	int	 n;			/* words */
	char	*v[ADMIN_MAX_ARGS];	/* into buf */
	int	 cmd;			/* the command's index, -1 none */
	char	 error[256];		/* why the line is refused (the -ERR text) */
};
/*
 * The console's parser (pure): 0 an empty line, 1 a command with a valid
 * argument count, 2 an AUTH line while not authenticated, -1 refused (with
 * req->error). Lines longer than ADMIN_MAX_LINE are cut there.
 */
int		 admin_parse(const char *line, size_t len, int authed, struct admin_request *req);
const char	*admin_command_name(int cmd);

struct admin_hooks {
	int	(*reload)(void);		/* 0 applied, -1 refused (the old config stays) */
	void	(*shutdown)(int graceful);
};
void	admin_set_hooks(const struct admin_hooks *h);

#endif
