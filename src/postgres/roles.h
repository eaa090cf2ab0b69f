// The roles a new cluster needs after initdb (ha.md §3.2): the superuser's password, the
// replication role (REPLICATION LOGIN) and the rewind role with EXECUTE on the functions
// pg_rewind calls. Every literal and identifier in the SQL is quoted by libpq
// (PQescapeLiteral / PQescapeIdentifier on the connection used), never by hand.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "postgres/node_settings.h"
#include "postgres/pg_connection.h"

namespace custos::postgres {

// The functions pg_rewind runs on its source server, for the GRANT to a non-superuser.
extern const std::vector<std::string> kRewindFunctions;

// `ALTER ROLE <superuser> WITH PASSWORD <pw>` when a password is configured.
Result<std::vector<std::string>, PgError> superuser_password_statements(PgConnection& conn,
                                                                      const Credentials& superuser);
// A DO block that creates the role, or alters it when it exists, WITH `options` (e.g.
// "REPLICATION LOGIN") and the password if any; synchronous_commit is local so that it does not
// wait for standbys that do not exist yet. The block's dollar-quote tag never occurs in it.
Result<std::string, PgError> create_or_alter_role_statement(PgConnection& conn, const Credentials& role,
                                                            const std::string& options);
// GRANT EXECUTE ON each rewind function TO <role>.
Result<std::vector<std::string>, PgError> rewind_grant_statements(PgConnection& conn, const std::string& role);

}  // namespace custos::postgres
