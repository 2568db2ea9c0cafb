#ifndef BERTH_CSQLITECONFIG_H
#define BERTH_CSQLITECONFIG_H

/* sqlite3_config is variadic, so Swift cannot call it; these wrappers can be. Each must run before
   SQLite initialises (before the first connection opens) and returns SQLite's result code:
   SQLITE_OK (0), or SQLITE_MISUSE (21) once SQLite is already initialised. */

/* Turns off SQLite's memory statistics. With them on, every allocation SQLite makes takes one
   process-wide mutex, which the catalog's writer and its readers then contend on. */
int berth_sqlite_disable_memstatus(void);

#endif
