/*
 * admin.h: the admin console (service = admin). Loop thread.
 *
 * RELOAD and SHUTDOWN act on the whole server, which sits above the
 * services: the server installs what they call.
 */
#ifndef ECHOD_ADMIN_H
#define ECHOD_ADMIN_H

struct admin_hooks {
	int	(*reload)(void);		/* 0 applied, -1 refused (the old config stays) */
	void	(*shutdown)(int graceful);
};
void	admin_set_hooks(const struct admin_hooks *h);

#endif
