// The status page served at GET /ui: one self-contained HTML document (CSS and JavaScript
// inline, no build step, no request to anything but this node's own REST API) that shows the
// cluster at a glance and refreshes itself every two seconds from GET /cluster, /patroni,
// /history and /ui/events: members with role, state, timeline, lag and tags; the leader and
// its lease; pause and failsafe; the timeline history; recent decisions and role changes.
// Text from the cluster is inserted as text, never as markup. Pure data; any thread.
#pragma once

#include <string_view>

namespace custos::api {

std::string_view status_page_html() noexcept;

}  // namespace custos::api
