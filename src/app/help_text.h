// The text of `custos --help` around the option list: what the agent does, where its
// configuration comes from, signals, exit status and files, in the order of a man page.
#pragma once

namespace custos::app {

inline constexpr const char* kAgentDescription =
    "custos - PostgreSQL high-availability agent, a drop-in replacement for Patroni\n"
    "\n"
    "One custos runs beside each PostgreSQL server. Together the agents of a cluster elect a\n"
    "primary through the distributed configuration store (etcd v3, etcd v2 or ZooKeeper), keep\n"
    "the other members streaming from it, fail over when it dies and switch over on request.\n"
    "custos reads Patroni's YAML files and PATRONI_* variables, writes Patroni's DCS keys and\n"
    "answers Patroni's REST API, so Patroni and custos nodes can share a cluster.";

inline constexpr const char* kAgentFooter =
    "CONFIGURATION\n"
    "  CONFIG is a YAML file or a directory whose *.yml/*.yaml files are merged in name order.\n"
    "  Without CONFIG the YAML text of PATRONI_CONFIGURATION is used, else the PATRONI_*\n"
    "  variables alone. PATRONI_* variables (PATRONI_NAME, PATRONI_SCOPE, PATRONI_RESTAPI_LISTEN,\n"
    "  PATRONI_POSTGRESQL_DATA_DIR, PATRONI_ETCD3_HOSTS, ...) override the file.\n"
    "  custos.compat (PATRONI_CUSTOS_COMPAT) chooses the Patroni generation custos presents:\n"
    "  \"4.1\" (default: role \"primary\") or \"3.3\" (role \"master\"); both are always read.\n"
    "\n"
    "SIGNALS\n"
    "  SIGHUP     reload the configuration (as POST /reload)\n"
    "  SIGTERM    stop: release the leader lock after a clean PostgreSQL shutdown\n"
    "  SIGINT     the same as SIGTERM\n"
    "\n"
    "SYSTEMD\n"
    "  Under a unit with Type=notify (packaging/custos.service) custos sends READY=1 once the\n"
    "  REST API listens and the first HA cycle ran, WATCHDOG=1 after every HA cycle when the unit\n"
    "  sets WatchdogSec=, STATUS= with the cycle's message, and STOPPING=1 when it stops.\n"
    "\n"
    "EXIT STATUS\n"
    "  0  stopped on request, or --validate-config found no error\n"
    "  1  configuration error, a fatal start-up error, or --validate-config found errors\n"
    "  2  command-line usage error\n"
    "\n"
    "EXAMPLES\n"
    "  custos /etc/patroni/config.yml\n"
    "  custos --validate-config --print /etc/patroni/config.yml\n"
    "  custos --generate-sample-config /etc/patroni/config.yml\n"
    "  custos --generate-config --dsn 'host=/run/postgresql user=postgres' new.yml\n"
    "\n"
    "SEE ALSO\n"
    "  custosctl(1), the REST API on restapi.listen (GET /patroni, /cluster, /metrics)";

}  // namespace custos::app
