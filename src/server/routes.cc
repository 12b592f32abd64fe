#include "server/routes.h"

#include <httplib.h>

#include "server/http_service.h"

namespace sf::server {

void add_api_routes(HttpService& http) {
  http.get("/", "/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("<!doctype html><title>studioflow</title><h1>studioflow</h1><p>See /tasks.</p>", "text/html");
  });
}

}  // namespace sf::server
