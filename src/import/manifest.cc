#include "import/manifest.h"

#include <fstream>
#include <sstream>

#include "core/files.h"
#include "core/json.h"

namespace sf::import {

Result<Manifest> Manifest::open(const std::string& project_dir) {
  Manifest m;
  m.path_ = project_dir + "/" + kManifestName;
  std::ifstream in(m.path_);
  if (!in) {
    m.doc_ = {{"version", 1}, {"sources", nlohmann::json::object()}};
    return m;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("sources") || !doc["sources"].is_object()) {
    return Status(Code::kCorrupt, m.path_ + ": not an import manifest (remove it to import everything again)");
  }
  m.doc_ = std::move(doc);
  return m;
}

Manifest::Manifest(Manifest&& other) noexcept {
  std::lock_guard lock(other.mu_);
  path_ = std::move(other.path_);
  doc_ = std::move(other.doc_);
}

nlohmann::json Manifest::source(const std::string& source) const {
  std::lock_guard lock(mu_);
  const auto& s = doc_["sources"];
  auto it = s.find(source);
  return it == s.end() ? nlohmann::json() : *it;
}

Status Manifest::set_source(const std::string& source, const nlohmann::json& identity) {
  std::lock_guard lock(mu_);
  nlohmann::json& rec = doc_["sources"][source];
  const bool changed = !rec.is_object() || rec.value("fingerprint", "") != identity.value("fingerprint", "");
  nlohmann::json products = changed ? nlohmann::json::object() : rec.value("products", nlohmann::json::object());
  rec = identity;
  rec["products"] = std::move(products);
  return save_locked();
}

nlohmann::json Manifest::product(const std::string& source, const std::string& name) const {
  std::lock_guard lock(mu_);
  const auto& s = doc_["sources"];
  auto it = s.find(source);
  if (it == s.end() || !it->contains("products")) return nullptr;
  const auto& p = (*it)["products"];
  auto pi = p.find(name);
  return pi == p.end() ? nlohmann::json() : *pi;
}

Status Manifest::set_product(const std::string& source, const std::string& name, const nlohmann::json& record) {
  std::lock_guard lock(mu_);
  doc_["sources"][source]["products"][name] = record;
  return save_locked();
}

Status Manifest::save_locked() { return write_file_atomic(path_, dump_json(doc_, 1) + "\n"); }

}  // namespace sf::import
