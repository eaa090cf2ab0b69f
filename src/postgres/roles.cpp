#include "postgres/roles.h"

namespace custos::postgres {

const std::vector<std::string> kRewindFunctions = {
    "pg_catalog.pg_ls_dir(text, boolean, boolean)", "pg_catalog.pg_stat_file(text, boolean)",
    "pg_catalog.pg_read_binary_file(text)", "pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)"};

Result<std::vector<std::string>, PgError> superuser_password_statements(PgConnection& conn,
                                                                      const Credentials& superuser) {
  std::vector<std::string> out;
  if (!superuser.password || superuser.username.empty()) return out;
  auto ident = conn.escape_identifier(superuser.username);
  if (!ident) return make_error(ident.error());
  auto pw = conn.escape_literal(*superuser.password);
  if (!pw) return make_error(pw.error());
  out.push_back("ALTER ROLE " + ident.value() + " WITH PASSWORD " + pw.value());
  return out;
}

Result<std::string, PgError> create_or_alter_role_statement(PgConnection& conn, const Credentials& role,
                                                            const std::string& options) {
  auto ident = conn.escape_identifier(role.username);
  if (!ident) return make_error(ident.error());
  auto name = conn.escape_literal(role.username);
  if (!name) return make_error(name.error());
  std::string pw;
  if (role.password) {
    auto lit = conn.escape_literal(*role.password);
    if (!lit) return make_error(lit.error());
    pw = " PASSWORD " + lit.value();
  }
  const std::string body = "BEGIN SET local synchronous_commit = 'local'; "
                           "PERFORM * FROM pg_catalog.pg_authid WHERE rolname = " + name.value() + "; "
                           "IF FOUND THEN ALTER ROLE " + ident.value() + " WITH " + options + pw + "; "
                           "ELSE CREATE ROLE " + ident.value() + " WITH " + options + pw + "; END IF; END;";
  // The body is dollar-quoted: pick a tag that does not occur in it (a name or password may
  // contain "$custos$", which would end the quote early).
  std::string tag = "$custos$";
  for (int i = 1; body.find(tag) != std::string::npos; ++i) tag = "$custos" + std::to_string(i) + "$";
  return "DO " + tag + body + tag;
}

Result<std::vector<std::string>, PgError> rewind_grant_statements(PgConnection& conn, const std::string& role) {
  auto ident = conn.escape_identifier(role);
  if (!ident) return make_error(ident.error());
  std::vector<std::string> out;
  for (const auto& f : kRewindFunctions) out.push_back("GRANT EXECUTE ON function " + f + " TO " + ident.value());
  return out;
}

}  // namespace custos::postgres
