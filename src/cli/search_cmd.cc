#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/exit_codes.h"
#include "media/probe.h"
#include "store/fingerprint.h"
#include "store/library.h"

namespace sf::cli {
namespace {

struct SearchFlags {
  std::vector<std::string> words;
  std::string match = "exact";
  std::vector<std::string> media;
  bool json = false;
  int limit = 100;
  pipeline::LibraryOptions library;
};

std::string clock_time(double t) {
  const auto total = static_cast<long long>(std::floor(t));
  const long long h = total / 3600, m = (total / 60) % 60;
  const double s = t - static_cast<double>(total - total % 60);
  char buf[48];
  if (h > 0) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%05.2f", h, m, s);
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%05.2f", m, s);
  }
  return buf;
}

int run_search(const SearchFlags& f) {
  using nlohmann::json;
  if (f.words.empty()) return fail(invalid_argument("nothing to search for: give a word or a phrase"));
  store::SearchQuery q;
  if (f.match == "exact") {
    q.mode = store::QueryMode::kExact;
  } else if (f.match == "prefix") {
    q.mode = store::QueryMode::kPrefix;
  } else {
    return fail(invalid_argument("--match '" + f.match + "': search takes exact or prefix"));
  }
  if (!f.library.enabled) return fail(invalid_argument("search reads the library: --no-library makes no sense here"));
  auto lib = open_existing_library(f.library);
  if (!lib.ok()) return fail(lib.status());
  for (const auto& m : f.media) {
    auto id = resolve_media(lib->get(), m);
    if (!id.ok()) return fail(id.status());
    q.media.push_back(*id);
  }
  // Arguments are one phrase when several are given without -w: the shell
  // splits "city council" only when it is not quoted, and a user who types
  // two words means the phrase.
  std::string phrase;
  for (const auto& w : f.words) phrase += (phrase.empty() ? "" : " ") + w;
  q.phrases = {phrase};
  q.limit = f.limit;
  auto hits = (*lib)->search(q);
  if (!hits.ok()) return fail(hits.status());
  if (f.json) {
    json out = json::array();
    for (const auto& h : *hits) {
      out.push_back({{"media", h.media}, {"path", h.path}, {"title", h.title}, {"query", h.query},
                     {"start", h.start}, {"end", h.end}, {"words", h.words}, {"engine", h.engine},
                     {"model", h.model},
                     {"sentence", {{"text", h.sentence}, {"start", h.sentence_start}, {"end", h.sentence_end}}}});
    }
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    for (const auto& h : *hits) {
      std::printf("%s\t%s\t%s\n", h.path.c_str(), clock_time(h.start).c_str(), h.sentence.c_str());
    }
  }
  if (hits->empty()) {
    return fail(Status(Code::kNoMatch, "no match for \"" + phrase + "\" in library " + (*lib)->path()));
  }
  return kExitOk;
}

}  // namespace

void register_search(CLI::App& app, std::vector<Command>& out) {
  auto f = std::make_shared<SearchFlags>();
  CLI::App* cmd = app.add_subcommand("search", "where a word or phrase was said, across the transcript library");
  cmd->add_option("words", f->words, "word or phrase (several arguments are one phrase)")->required();
  cmd->add_option("--match", f->match, "exact | prefix")->capture_default_str();
  cmd->add_option("--media", f->media, "only these media (id, path or file; repeatable)");
  cmd->add_flag("--json", f->json, "JSON output");
  cmd->add_option("--limit", f->limit, "most hits to print (0 = all)")->capture_default_str()->check(CLI::Range(0, 100000000));
  add_library_flags(cmd, &f->library);
  out.push_back({cmd, [f] { return run_search(*f); }});
}

}  // namespace sf::cli
