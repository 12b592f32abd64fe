#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/exit_codes.h"
#include "store/synthetic_library.h"

namespace sf::cli {
namespace {

struct BenchSearchFlags {
  std::string library;
  double hours = 500;
  int repeat = 20;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_bench_search(const BenchSearchFlags& f) {
  using nlohmann::json;
  auto t0 = std::chrono::steady_clock::now();
  auto lib = store::Library::open(f.library);
  if (!lib.ok()) return fail(lib.status());
  store::SyntheticLibraryOptions so;
  so.hours = f.hours;
  auto words = store::fill_synthetic(lib->get(), so);
  if (!words.ok()) return fail(words.status());
  std::printf("%s\n", json({{"library", f.library}, {"hours", f.hours}, {"words", *words},
                            {"build_s", seconds_since(t0)}}).dump().c_str());

  struct Case {
    const char* name;
    std::string phrase;
    store::QueryMode mode;
    int limit;
  };
  const std::vector<Case> cases = {
      {"common word, first 100", "budget", store::QueryMode::kExact, 100},
      {"phrase, first 100", "city council", store::QueryMode::kExact, 100},
      {"phrase, all hits", "city council", store::QueryMode::kExact, 0},
      {"rare phrase, all hits", "kalomi renvi", store::QueryMode::kExact, 0},
      {"rare word, all hits", "zenquadun", store::QueryMode::kExact, 0},
      {"prefix, first 100", "teach", store::QueryMode::kPrefix, 100},
      {"absent phrase", "budget zzz", store::QueryMode::kExact, 0},
  };
  for (const auto& c : cases) {
    store::SearchQuery q;
    q.phrases = {c.phrase};
    q.mode = c.mode;
    q.limit = c.limit;
    std::vector<double> ms;
    size_t hits = 0;
    for (int r = 0; r < f.repeat; ++r) {
      auto t = std::chrono::steady_clock::now();
      auto h = (*lib)->search(q);
      ms.push_back(seconds_since(t) * 1000);
      if (!h.ok()) return fail(h.status());
      hits = h->size();
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%s\n", json({{"query", c.phrase}, {"case", c.name}, {"hits", hits},
                              {"median_ms", ms[ms.size() / 2]}, {"max_ms", ms.back()},
                              {"ratio_to_100ms", ms[ms.size() / 2] / 100.0}}).dump().c_str());
  }
  return kExitOk;
}

}  // namespace

void register_bench_search(CLI::App* bench, std::vector<Command>& out) {
  auto f = std::make_shared<BenchSearchFlags>();
  CLI::App* cmd = bench->add_subcommand(
      "search", "build (or reuse) a synthetic library of N hours of transcripts and time search queries");
  cmd->add_option("--library", f->library, "library file to fill and query (reused when it exists)")->required();
  cmd->add_option("--hours", f->hours, "hours of synthetic transcripts")->capture_default_str()
      ->check(CLI::Range(0.1, 100000.0));
  cmd->add_option("--repeat", f->repeat, "runs of each query")->capture_default_str()->check(CLI::Range(1, 10000));
  out.push_back({cmd, [f] { return run_bench_search(*f); }});
}

}  // namespace sf::cli
