/*
 * service.c: the table of services, looked up by name from the config.
 * Loop thread (and config validation).
 */
#include "autoconf.h"

#include <string.h>

#include "service.h"
#include "util.h"

static const struct service *service_table[] = {
	&service_echo,
	&service_discard,
	&service_chargen,
	&service_daytime,
	&service_time,
	&service_command,
	&service_admin,
};

const struct service *
service_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(service_table); i++)
		if (strcmp(service_table[i]->name, name) == 0)
			return service_table[i];
	return NULL;
}

const char *
service_names(void)
{
	static char names[256];
	size_t i;

	if (names[0] != '\0')
		return names;
	for (i = 0; i < ARRAY_LEN(service_table); i++) {
		if (i > 0)
			strncat(names, " ", sizeof(names) - strlen(names) - 1);
		strncat(names, service_table[i]->name, sizeof(names) - strlen(names) - 1);
	}
	return names;
}

const struct service *
service_at(size_t i)
{
	return i < ARRAY_LEN(service_table) ? service_table[i] : NULL;
}

const struct service_key *
service_key_find(const struct service *svc, const char *name)
{
	size_t i;

	for (i = 0; i < svc->nkeys; i++)
		if (strcmp(svc->keys[i].name, name) == 0)
			return &svc->keys[i];
	return NULL;
}
