#include <algorithm>
#include <cmath>
#include <map>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/exit_codes.h"
#include "core/log.h"
#include "media/probe.h"
#include "pipeline/compilation.h"
#include "pipeline/library_targeted.h"
#include "search/fusion.h"
#include "search/matcher.h"
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
  bool targeted = false;
  double min_confidence = search::kDefaultMinConfidence;
  const CLI::Option* min_confidence_given = nullptr;  // counts whether --min-confidence was given
  int workers = 0;
  std::string model;
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

// search --targeted: the library's one-best transcripts joined with what
// the targeted pass hears where they say something like the phrase
// (pipeline/library_targeted.h), each candidate with its confidence.
int run_targeted_search(const SearchFlags& f, store::Library* lib, const std::string& phrase,
                        const std::vector<int64_t>& media_ids) {
  using nlohmann::json;
  if (f.match != "exact") return fail(invalid_argument("--targeted listens for exact words: it takes no --match prefix"));
  const std::string target = search::target_phrase(phrase);
  if (target.empty()) return fail(invalid_argument("\"" + phrase + "\" has no word to listen for"));
  auto media = lib->list();
  if (!media.ok()) return fail(media.status());
  std::map<std::string, const store::MediaRecord*> by_fingerprint;
  std::vector<std::string> fingerprints;
  for (const auto& m : *media) {
    by_fingerprint[m.fingerprint] = &m;
    if (std::find(media_ids.begin(), media_ids.end(), m.id) != media_ids.end()) fingerprints.push_back(m.fingerprint);
  }
  pipeline::TranscribeOptions topt;
  topt.workers = f.workers;
  topt.engine.model = f.model;
  topt.engine.target_words = {target};
  pipeline::ListenStats stats;
  std::vector<store::TranscriptKey> keys;
  auto inputs = pipeline::targeted_library_inputs(f.library, topt, {}, &stats, fingerprints, &keys);
  if (!inputs.ok()) return fail(inputs.status());
  auto matcher = search::Matcher::create({phrase}, search::MatchMode::kExact);
  if (!matcher.ok()) return fail(matcher.status());
  const std::vector<std::string> queries = matcher->queries();
  json out = json::array();
  int printed = 0;
  for (size_t i = 0; i < inputs->size() && (f.limit == 0 || printed < f.limit); ++i) {
    const auto& in = (*inputs)[i];
    const std::vector<asr::Word> words = in.transcript.words();
    auto found = search::fuse(static_cast<int>(i), matcher->find(static_cast<int>(i), words), in.transcript.hits,
                              queries, f.min_confidence);
    const store::MediaRecord* m = by_fingerprint[keys[i].fingerprint];
    for (const auto& c : found) {
      if (f.limit != 0 && printed >= f.limit) break;
      ++printed;
      // The transcript's segment where the candidate lies (what the
      // one-best transcript says there).
      const asr::Segment* seg = nullptr;
      const double middle = 0.5 * (c.start + c.end);
      for (const auto& sg : in.transcript.segments) {
        if (sg.start <= middle && middle <= sg.end) seg = &sg;
      }
      if (f.json) {
        json j = {{"media", m != nullptr ? m->id : 0},
                  {"path", in.path},
                  {"title", m != nullptr ? m->title : ""},
                  {"query", c.query},
                  {"start", c.start},
                  {"end", c.end},
                  {"words", c.words},
                  {"engine", keys[i].engine},
                  {"model", keys[i].model},
                  {"confidence", c.confidence},
                  {"evidence", pipeline::evidence_to_json(c.evidence)}};
        j["sentence"] = seg != nullptr ? json{{"text", seg->text}, {"start", seg->start}, {"end", seg->end}}
                                       : json{{"text", ""}, {"start", c.start}, {"end", c.end}};
        out.push_back(std::move(j));
      } else {
        std::printf("%s\t%s\t%.2f\t%s\n", in.path.c_str(), clock_time(c.start).c_str(), c.confidence,
                    seg != nullptr ? seg->text.c_str() : "");
      }
    }
  }
  if (f.json) std::printf("%s\n", out.dump(2).c_str());
  SF_LOG_INFO("targeted search: listened again to {:.1f} s of {:.1f} s of audio ({} of {} media; {} from the library)",
              stats.decoded_seconds, stats.audio_seconds, stats.decoded_media, stats.media, stats.from_library);
  if (printed == 0) {
    return fail(Status(Code::kNoMatch, "no match for \"" + phrase + "\" at confidence " +
                                           std::to_string(f.min_confidence).substr(0, 4) + " or more in library " +
                                           lib->path()));
  }
  return kExitOk;
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
  if (f.targeted) return run_targeted_search(f, lib->get(), phrase, q.media);
  if (f.min_confidence_given != nullptr && f.min_confidence_given->count() > 0) {
    return fail(invalid_argument("--min-confidence weighs targeted candidates: it needs --targeted"));
  }
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
  cmd->add_flag("--targeted", f->targeted,
                "also listen again, in the media's audio, where the transcript says something like the words "
                "(sphinx transcripts; decodes only those places, keeps what it hears in the library)");
  f->min_confidence_given =
      cmd->add_option("--min-confidence", f->min_confidence, "with --targeted: print only candidates at least this sure, 0..1")
          ->capture_default_str()
          ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--workers", f->workers, "with --targeted: engine instances (0 = one per CPU core)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--model", f->model, "with --targeted: the PocketSphinx model folder the transcripts were made with");
  add_library_flags(cmd, &f->library);
  out.push_back({cmd, [f] { return run_search(*f); }});
}

}  // namespace sf::cli
