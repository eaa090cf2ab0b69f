// The PostgreSQL side of the effective configuration: postgres::NodeSettings built from the
// merged local and dynamic configuration (config.md §2.8, §6: bin_dir/bin_name, listen and
// connect addresses, authentication, parameters split into command line and postgresql.conf,
// pg_hba/pg_ident, bootstrap options). Pure.
#pragma once

#include "config/config.h"
#include "postgres/node_settings.h"

namespace custos::agent {

postgres::NodeSettings node_settings_from_config(const config::Config& config);

}  // namespace custos::agent
