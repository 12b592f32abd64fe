#include "search/fusion.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "search/normalize.h"

namespace sf::search {
namespace {

// Weights of the logistic fusion, set by hand from bench/recall/run.py's
// labelled candidates (bench/RESULTS.md). The per-phone spotter score is
// already length-normalized, so the length factor is capped near 1: it
// only discounts short words. At 10 dB right and wrong spotter-only
// candidates share scores of -31 to -35 per phone; what tells them apart
// is how long the detection lasted: wrong ones mostly 32-56 ms a phone
// (three frames, 30 ms, is the least a phone model lasts), right ones
// mostly 40-85 ms (median 67). How long depends on the phones: right
// detections of "europe" (Y UH R AH P) last 38-64 ms a phone, of
// "teachers" (T IY CH ER Z) 82-116 ms. So a spotter-only candidate is
// judged against the length the acoustic model expects of the query's
// phones (Evidence::expected_seconds): below 0.8 of it, it is discounted,
// fully at 0.5. The ratio's settings were chosen on voices rms, slt, awb
// and kal16 at 10 dB (pink, babble, music) and checked on festival's kal,
// ked and HTS slt voices (bench/RESULTS.md). Without an expected length
// (a model whose phone lengths could not be read), a flat 70 ms a phone
// stands in for it. The biased decode's posterior
// (asr::TargetHit::biased_posterior) weighs less than the normal
// lattice's, its language model having been pushed towards the targets.
// The biased-decode weight, the duration rule and the bias were chosen
// together on voices rms, slt, awb and kal16 at pink 20, 10 and 5 dB,
// babble 10 dB, reverberation, the telephone band and speed 1.1.
struct Weights {
  double bias = -1.5;
  double one_best = 4.0;        // a one-best match
  double word_probability = 1.0;  // times the one-best words' lowest probability
  double spot_floor = 40.0;     // spotter scores at or below -spot_floor count nothing
  double spot = 0.16;           // per unit of score above -spot_floor
  double spot_phones = 6.0;     // the spotter counts fully at this many phones
  double posterior = 4.0;       // times the lattice posterior
  double biased_posterior = 3.5;  // times the posterior in the biased decode
  // A spotter-only candidate whose detection lasted less than
  // phone_seconds per phone loses up to `squeezed`, all of it at
  // phone_seconds - squeeze_range and below.
  double phone_seconds = 0.07;
  double squeeze_range = 0.02;
  double squeezed = 3.0;
  // With an expected length: a detection shorter than expected_ratio of
  // it loses up to `ratio_squeezed`, all of it at expected_ratio -
  // ratio_range and below.
  double expected_ratio = 0.8;
  double ratio_range = 0.3;
  double ratio_squeezed = 4.0;
  // A candidate the one-best transcript lacks is trusted more in noisy
  // audio (Evidence::snr_db below noisy_below_snr_db): clean audio's
  // one-best transcript holds nearly every word said, so what only the
  // targeted search finds there is mostly noise or a near-homophone; in
  // noise the one-best transcript loses words the spotter still hears.
  // How much more depends on the noise: steady noise (a spread of at most
  // steady_spread_db) imitates words less than voices or music in the
  // background, and more noise makes every kind of evidence weaker, so the
  // trust rises with the SNR from `from_snr_db` to `full_snr_db`. The SNR
  // is the denoiser's estimate (loud half of the frames over the quietest
  // tenth), which reads above the SNR over speech-active stretches that
  // bench/recall mixes at: pink noise at 20, 10 and 5 dB reads about 24,
  // 15 and 11 dB, babble 24, 15.5 and 12, music at 10 dB 17. Set on voices
  // rms, slt, awb and kal16 in every condition, checked on festival's kal,
  // ked and HTS slt voices (bench/RESULTS.md).
  double noisy_below_snr_db = 30;
  double steady_spread_db = 3.5;
  double steady_trust = 2.0;
  double steady_from_snr_db = 12;
  double steady_full_snr_db = 15;
  double unsteady_trust = 1.0;
  double unsteady_from_snr_db = 13;
  double unsteady_full_snr_db = 14;
};
constexpr Weights kW;

bool overlaps(double a0, double a1, double b0, double b1) {
  return std::min(a1, b1) - std::max(a0, b0) > 0;
}

}  // namespace

std::string target_phrase(std::string_view query) {
  std::string out;
  for (const auto& t : tokenize(query)) out += (out.empty() ? "" : " ") + t;
  return out;
}

std::vector<std::string> target_phrases(const Matcher& matcher) {
  std::vector<std::string> out;
  if (matcher.mode() != MatchMode::kExact) return out;
  for (const auto& q : matcher.queries()) {
    std::string p = target_phrase(q);
    if (!p.empty() && std::find(out.begin(), out.end(), p) == out.end()) out.push_back(std::move(p));
  }
  return out;
}

float confidence(const Evidence& e) {
  double z = kW.bias;
  if (e.one_best) z += kW.one_best + kW.word_probability * std::clamp<double>(e.word_probability, 0, 1);
  if (e.spotted) {
    const double length = std::clamp(e.phones > 0 ? e.phones / kW.spot_phones : 1.0, 0.25, 1.25);
    z += length * kW.spot * std::max(0.0, kW.spot_floor + std::min(0.0, static_cast<double>(e.spot_score)));
    if (!e.one_best && e.phone_seconds > 0 && e.expected_seconds > 0 && e.phones > 0) {
      const double ratio = e.phone_seconds * e.phones / e.expected_seconds;
      z += kW.ratio_squeezed * std::clamp((ratio - kW.expected_ratio) / kW.ratio_range, -1.0, 0.0);
    } else if (!e.one_best && e.phone_seconds > 0) {
      z += kW.squeezed * std::clamp((e.phone_seconds - kW.phone_seconds) / kW.squeeze_range, -1.0, 0.0);
    }
  }
  if (!e.one_best && e.snr_db < kW.noisy_below_snr_db) {
    const bool steady = e.noise_spread_db <= kW.steady_spread_db;
    const double from = steady ? kW.steady_from_snr_db : kW.unsteady_from_snr_db;
    const double full = steady ? kW.steady_full_snr_db : kW.unsteady_full_snr_db;
    z += (steady ? kW.steady_trust : kW.unsteady_trust) * std::clamp((e.snr_db - from) / (full - from), 0.0, 1.0);
  }
  z += kW.posterior * std::clamp<double>(e.posterior, 0, 1);
  z += kW.biased_posterior * std::clamp<double>(e.biased_posterior, 0, 1);
  return static_cast<float>(1.0 / (1.0 + std::exp(-z)));
}

std::vector<Match> fuse(int input, std::vector<Match> one_best, std::span<const asr::TargetHit> hits,
                        std::span<const std::string> queries, double min_confidence) {
  std::map<std::string, std::string> spelled;  // target phrase -> the query as given
  for (const auto& q : queries) spelled.emplace(target_phrase(q), q);
  std::vector<Match> out = std::move(one_best);
  // How well a candidate's times are supported by a hit alone (no one-best
  // match): the better hit gives them.
  std::vector<double> best_hit(out.size(), 1e300);
  for (const auto& h : hits) {
    auto q = spelled.find(h.query);
    if (q == spelled.end() || !std::isfinite(h.start) || !std::isfinite(h.end)) continue;
    const double end = std::max(h.start, h.end);
    // The hit's own strength, to choose between hits for a candidate's times.
    const double strength = -(h.spotted ? h.spot_score : -1e3) - 100.0 * h.posterior;
    Match* into = nullptr;
    size_t index = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      Match& m = out[i];
      if (target_phrase(m.query) != h.query) continue;
      if (overlaps(m.start, std::max(m.start, m.end) + 1e-3, h.start, end + 1e-3)) {
        into = &m;
        index = i;
        break;
      }
    }
    if (into == nullptr) {
      Match m;
      m.input = input;
      m.query = q->second;
      m.start = h.start;
      m.end = end;
      for (const auto& t : tokenize(q->second)) m.words.push_back(t);
      out.push_back(std::move(m));
      best_hit.push_back(1e300);
      into = &out.back();
      index = out.size() - 1;
    }
    Evidence& e = into->evidence;
    if (h.spotted && (!e.spotted || h.spot_score > e.spot_score)) {
      // The best detection gives the score and the length it lasted.
      e.spot_score = h.spot_score;
      e.phone_seconds = h.phones > 0 ? static_cast<float>((end - h.start) / h.phones) : 0.0f;
      e.spotted = true;
    }
    e.posterior = std::max(e.posterior, h.posterior);
    e.biased_posterior = std::max(e.biased_posterior, h.biased_posterior);
    if (h.phones > 0) e.phones = h.phones;
    if (h.expected_seconds > 0) e.expected_seconds = h.expected_seconds;
    if (h.snr_db < e.snr_db) {
      // Hits of one place come from one segment; the noisier measure wins.
      e.snr_db = h.snr_db;
      e.noise_spread_db = h.noise_spread_db;
    }
    if (!e.one_best && strength < best_hit[index]) {
      best_hit[index] = strength;
      into->start = h.start;
      into->end = end;
    }
  }
  std::vector<Match> kept;
  for (auto& m : out) {
    m.confidence = confidence(m.evidence);
    if (m.confidence + 1e-6 >= min_confidence) kept.push_back(std::move(m));
  }
  std::stable_sort(kept.begin(), kept.end(), [](const Match& a, const Match& b) {
    if (a.start != b.start) return a.start < b.start;
    return a.end < b.end;
  });
  return kept;
}

}  // namespace sf::search
