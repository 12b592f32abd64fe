#include <cstdio>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/exit_codes.h"
#include "store/library.h"

namespace sf::cli {

namespace {

struct ListFlags {
  bool json = false;
  pipeline::LibraryOptions library;
};

struct ForgetFlags {
  std::vector<std::string> media;
  bool missing = false;
  pipeline::LibraryOptions library;
};

bool any_path_exists(const store::MediaRecord& m) {
  std::error_code ec;
  for (const auto& p : m.paths) {
    if (std::filesystem::exists(p, ec)) return true;
  }
  return false;
}

int run_list(const ListFlags& f) {
  using nlohmann::json;
  auto lib = open_existing_library(f.library);
  if (!lib.ok()) return fail(lib.status());
  auto media = (*lib)->list();
  if (!media.ok()) return fail(media.status());
  if (f.json) {
    json out = json::array();
    for (const auto& m : *media) {
      json ts = json::array();
      for (const auto& t : m.transcripts) {
        ts.push_back({{"engine", t.engine}, {"model", t.model}, {"options", json::parse(t.options, nullptr, false)},
                      {"language", t.language}, {"words", t.words}, {"duration", t.duration},
                      {"created", t.created}});
      }
      out.push_back({{"id", m.id}, {"fingerprint", m.fingerprint}, {"size", m.size}, {"duration", m.duration},
                     {"title", m.title}, {"paths", m.paths}, {"present", any_path_exists(m)},
                     {"added", m.added}, {"transcripts", ts}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return kExitOk;
  }
  for (const auto& m : *media) {
    int64_t words = 0;
    std::string engines;
    for (const auto& t : m.transcripts) {
      words += t.words;
      engines += (engines.empty() ? "" : ",") + t.engine + (t.model.empty() ? "" : ":" + t.model);
    }
    std::printf("%lld\t%.1f s\t%lld words\t%s\t%s%s\n", static_cast<long long>(m.id), m.duration,
                static_cast<long long>(words), engines.c_str(), m.paths.empty() ? "" : m.paths.front().c_str(),
                any_path_exists(m) ? "" : "  (missing)");
  }
  return kExitOk;
}

int run_forget(const ForgetFlags& f) {
  if (f.media.empty() && !f.missing) {
    return fail(invalid_argument("library forget: give media (id or path) or --missing"));
  }
  auto lib = open_existing_library(f.library);
  if (!lib.ok()) return fail(lib.status());
  std::vector<int64_t> ids;
  for (const auto& m : f.media) {
    auto id = resolve_media(lib->get(), m);
    if (!id.ok()) return fail(id.status());
    ids.push_back(*id);
  }
  if (f.missing) {
    auto media = (*lib)->list();
    if (!media.ok()) return fail(media.status());
    for (const auto& m : *media) {
      if (!any_path_exists(m)) ids.push_back(m.id);
    }
  }
  for (int64_t id : ids) {
    Status s = (*lib)->forget(id);
    if (!s.ok()) return fail(s);
    std::printf("forgot %lld\n", static_cast<long long>(id));
  }
  return kExitOk;
}

}  // namespace

void register_library(CLI::App& app, std::vector<Command>& out) {
  CLI::App* lib = app.add_subcommand("library", "see and prune the transcript library");
  lib->require_subcommand(1);

  auto l = std::make_shared<ListFlags>();
  CLI::App* list = lib->add_subcommand("list", "every medium in the library: id, duration, words, engines, path");
  list->add_flag("--json", l->json, "JSON output");
  add_library_flags(list, &l->library);
  out.push_back({list, [l] { return run_list(*l); }});

  auto g = std::make_shared<ForgetFlags>();
  CLI::App* forget = lib->add_subcommand("forget", "remove media and their transcripts from the library");
  forget->add_option("media", g->media, "media ids or paths");
  forget->add_flag("--missing", g->missing, "every medium whose files are all gone");
  add_library_flags(forget, &g->library);
  out.push_back({forget, [g] { return run_forget(*g); }});
}

}  // namespace sf::cli
