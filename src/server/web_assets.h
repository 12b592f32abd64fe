// The web page's files (src/server/web), built into the binary at build
// time (embed.cmake), so the page needs nothing outside the program.
#pragma once

#include <span>
#include <string_view>

namespace sf::server {

struct WebAsset {
  std::string_view path;          // "/index.html", "/app.js", "/style.css"
  std::string_view content_type;
  std::string_view body;
};

// Every file of the page; the storage lives as long as the program.
std::span<const WebAsset> web_assets();

}  // namespace sf::server
