#include "asr/formats.h"

#include <cmath>
#include <cstdio>

#include "core/json.h"

namespace sf::asr {
namespace {

std::string timestamp(double t, char frac_sep) {
  if (t < 0) t = 0;
  auto ms = static_cast<long long>(std::llround(t * 1000.0));
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%02lld:%02lld:%02lld%c%03lld", ms / 3600000, (ms / 60000) % 60,
                (ms / 1000) % 60, frac_sep, ms % 1000);
  return buf;
}

}  // namespace

Result<TranscriptFormat> parse_transcript_format(std::string_view name) {
  if (name == "json") return TranscriptFormat::kJson;
  if (name == "srt") return TranscriptFormat::kSrt;
  if (name == "vtt") return TranscriptFormat::kVtt;
  if (name == "txt") return TranscriptFormat::kTxt;
  return invalid_argument("unknown transcript format '" + std::string(name) +
                          "' (expected json, srt, vtt or txt)");
}

std::string_view extension(TranscriptFormat f) {
  switch (f) {
    case TranscriptFormat::kJson: return ".json";
    case TranscriptFormat::kSrt: return ".srt";
    case TranscriptFormat::kVtt: return ".vtt";
    case TranscriptFormat::kTxt: return ".txt";
  }
  return ".txt";
}

nlohmann::json to_json(const Transcript& t) {
  nlohmann::json segs = nlohmann::json::array();
  for (const auto& s : t.segments) {
    nlohmann::json words = nlohmann::json::array();
    for (const auto& w : s.words) {
      words.push_back({{"word", w.text}, {"start", w.start}, {"end", w.end}, {"probability", w.probability}});
    }
    segs.push_back({{"start", s.start}, {"end", s.end}, {"text", s.text}, {"words", words}});
  }
  nlohmann::json j = {{"language", t.language}, {"segments", segs}};
  if (!t.hits.empty()) {
    nlohmann::json hits = nlohmann::json::array();
    for (const auto& h : t.hits) {
      nlohmann::json jh = {{"query", h.query}, {"start", h.start}, {"end", h.end}, {"phones", h.phones},
                           {"spotted", h.spotted}, {"spot_score", h.spot_score}, {"posterior", h.posterior},
                           {"biased_posterior", h.biased_posterior}};
      if (h.expected_seconds > 0) jh["expected_seconds"] = h.expected_seconds;
      if (h.snr_db < TargetHit::kCleanSnrDb) {
        jh["snr_db"] = h.snr_db;
        jh["noise_spread_db"] = h.noise_spread_db;
      }
      hits.push_back(std::move(jh));
    }
    j["hits"] = std::move(hits);
  }
  return j;
}

Result<Transcript> transcript_from_json(const nlohmann::json& j) {
  auto bad = [](std::string_view what) { return corrupt("transcript JSON: " + std::string(what)); };
  if (!j.is_object()) return bad("not an object");
  Transcript t;
  if (auto it = j.find("language"); it != j.end()) {
    if (!it->is_string()) return bad("\"language\" is not a string");
    t.language = it->get<std::string>();
  }
  auto segs = j.find("segments");
  if (segs == j.end() || !segs->is_array()) return bad("\"segments\" is missing or not an array");
  auto number = [](const nlohmann::json& o, const char* key, double* out) {
    auto it = o.find(key);
    if (it == o.end() || !it->is_number()) return false;
    *out = it->get<double>();
    return true;
  };
  for (const auto& js : *segs) {
    Segment s;
    if (!js.is_object() || !number(js, "start", &s.start) || !number(js, "end", &s.end)) {
      return bad("a segment lacks its start or end");
    }
    if (auto it = js.find("text"); it != js.end() && it->is_string()) s.text = it->get<std::string>();
    if (auto words = js.find("words"); words != js.end()) {
      if (!words->is_array()) return bad("\"words\" is not an array");
      for (const auto& jw : *words) {
        Word w;
        double p = 1;
        auto text = jw.is_object() ? jw.find("word") : jw.end();
        if (text == jw.end() || !text->is_string() || !number(jw, "start", &w.start) || !number(jw, "end", &w.end)) {
          return bad("a word lacks its text, start or end");
        }
        w.text = text->get<std::string>();
        if (number(jw, "probability", &p)) w.probability = static_cast<float>(p);
        s.words.push_back(std::move(w));
      }
    }
    t.segments.push_back(std::move(s));
  }
  if (auto hits = j.find("hits"); hits != j.end()) {
    if (!hits->is_array()) return bad("\"hits\" is not an array");
    for (const auto& jh : *hits) {
      TargetHit h;
      auto q = jh.is_object() ? jh.find("query") : jh.end();
      if (q == jh.end() || !q->is_string() || !number(jh, "start", &h.start) || !number(jh, "end", &h.end)) {
        return bad("a hit lacks its query, start or end");
      }
      h.query = q->get<std::string>();
      double v = 0;
      if (number(jh, "phones", &v)) h.phones = static_cast<int>(v);
      if (number(jh, "spot_score", &v)) h.spot_score = static_cast<float>(v);
      if (number(jh, "posterior", &v)) h.posterior = static_cast<float>(v);
      if (number(jh, "biased_posterior", &v)) h.biased_posterior = static_cast<float>(v);
      if (number(jh, "expected_seconds", &v) && v > 0) h.expected_seconds = static_cast<float>(v);
      if (number(jh, "snr_db", &v) && v < TargetHit::kCleanSnrDb) {
        h.snr_db = static_cast<float>(v);
        if (number(jh, "noise_spread_db", &v) && v >= 0) h.noise_spread_db = static_cast<float>(v);
      }
      if (auto sp = jh.find("spotted"); sp != jh.end() && sp->is_boolean()) h.spotted = sp->get<bool>();
      t.hits.push_back(std::move(h));
    }
  }
  return t;
}

std::string to_srt(const Transcript& t) {
  std::string out;
  int n = 0;
  for (const auto& s : t.segments) {
    out += std::to_string(++n) + "\n" + timestamp(s.start, ',') + " --> " + timestamp(s.end, ',') + "\n" +
           s.text + "\n\n";
  }
  return out;
}

std::string to_vtt(const Transcript& t) {
  std::string out = "WEBVTT\n\n";
  for (const auto& s : t.segments) {
    out += timestamp(s.start, '.') + " --> " + timestamp(s.end, '.') + "\n" + s.text + "\n\n";
  }
  return out;
}

std::string to_txt(const Transcript& t) {
  std::string out;
  for (const auto& s : t.segments) out += s.text + "\n";
  return out;
}

std::string render(const Transcript& t, TranscriptFormat f, const nlohmann::json& extra) {
  switch (f) {
    case TranscriptFormat::kJson: {
      nlohmann::json j = to_json(t);
      if (extra.is_object()) j.update(extra);
      return dump_json(j, 2) + "\n";
    }
    case TranscriptFormat::kSrt: return to_srt(t);
    case TranscriptFormat::kVtt: return to_vtt(t);
    case TranscriptFormat::kTxt: return to_txt(t);
  }
  return {};
}

}  // namespace sf::asr
