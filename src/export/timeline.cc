#include "export/timeline.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "core/json.h"
#include "core/utf8.h"
#include "search/normalize.h"

namespace sf::exports {
namespace {

bool is_url(std::string_view p) { return p.rfind("http://", 0) == 0 || p.rfind("https://", 0) == 0; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string absolute_path(std::string_view path) {
  if (is_url(path)) return std::string(path);
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(std::filesystem::path(std::string(path)), ec);
  if (ec) return std::string(path);
  return p.lexically_normal().string();
}

// The last path segment of a path or URL (query and fragment dropped).
std::string base_name(std::string_view path) {
  std::string s(path);
  if (is_url(s)) {
    if (auto q = s.find_first_of("?#"); q != std::string::npos) s.resize(q);
    while (!s.empty() && s.back() == '/') s.pop_back();
  }
  auto slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

std::string display_name(const Source& s) {
  return utf8::to_valid(s.name.empty() ? base_name(s.path) : s.name);
}

// Text for XML character data and attribute values (always valid UTF-8;
// control characters XML 1.0 forbids are dropped).
std::string xml(std::string_view raw) {
  const std::string s = utf8::to_valid(raw);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') break;
        out += c;
    }
  }
  return out;
}

// Record and source frames of one clip.
struct ClipFrames {
  FrameRate src_rate;
  int64_t tc0 = 0;              // the source's start timecode, frames
  int64_t src_in = 0, src_out = 0;  // from the media's first frame
  int64_t rec_in = 0, rec_out = 0;
};

ClipFrames frames_of(const Timeline& t, FrameRate seq, const Clip& c) {
  const Source& s = t.sources[static_cast<size_t>(c.source)];
  ClipFrames f;
  f.src_rate = source_rate(t, s);
  f.tc0 = source_start_frame(t, s);
  f.rec_in = seconds_to_frames(c.output_start, seq);
  f.rec_out = std::max(f.rec_in + 1, seconds_to_frames(c.output_end, seq));
  f.src_in = std::max<int64_t>(0, seconds_to_frames(c.start, f.src_rate));
  // Same rate: the source length is the record length, so no editor reads
  // the event as a speed change.
  f.src_out = f.src_rate == seq ? f.src_in + (f.rec_out - f.rec_in)
                                : std::max(f.src_in + 1, seconds_to_frames(c.end, f.src_rate));
  return f;
}

// Each source's whole length in its own frames: its duration, else the
// extent of its clips (and never less than that).
std::vector<int64_t> media_lengths(const Timeline& t) {
  const FrameRate seq = sequence_rate(t);
  std::vector<int64_t> n(t.sources.size(), 0);
  for (size_t i = 0; i < t.sources.size(); ++i) {
    const Source& s = t.sources[i];
    if (s.duration > 0) n[i] = seconds_to_frames(s.duration, source_rate(t, s));
  }
  for (const auto& c : t.clips) {
    auto& len = n[static_cast<size_t>(c.source)];
    len = std::max(len, frames_of(t, seq, c).src_out);
  }
  return n;
}

void sequence_size(const Timeline& t, int* w, int* h) {
  *w = t.width;
  *h = t.height;
  if (*w > 0 && *h > 0) return;
  for (const auto& s : t.sources) {
    if (s.has_video && s.width > 0 && s.height > 0) {
      *w = s.width;
      *h = s.height;
      return;
    }
  }
  *w = 1920;
  *h = 1080;
}

int sample_rate(const Source& s) { return s.sample_rate > 0 ? s.sample_rate : 48000; }
int channels(const Source& s) { return s.channels > 0 ? s.channels : 2; }

std::string srt_time(double t, char frac) {
  if (!(t > 0)) t = 0;
  const auto ms = static_cast<long long>(std::llround(t * 1000.0));
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%02lld:%02lld:%02lld%c%03lld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
                frac, ms % 1000);
  return buf;
}

// ---- FCPXML rational times ----

// `frames` at `rate` as FCPXML time: "0s", "3s", "1001/10000s".
std::string rational(int64_t frames, FrameRate rate) {
  if (frames == 0) return "0s";
  int64_t num = frames * rate.den, den = rate.num;
  const int64_t g = std::gcd(num < 0 ? -num : num, den);
  num /= g;
  den /= g;
  return den == 1 ? std::to_string(num) + "s" : std::to_string(num) + "/" + std::to_string(den) + "s";
}

std::string fcp7_rate(FrameRate r, const std::string& indent) {
  return indent + "<rate>\n" + indent + "  <timebase>" + std::to_string(r.timebase()) + "</timebase>\n" + indent +
         "  <ntsc>" + (r.ntsc() ? "TRUE" : "FALSE") + "</ntsc>\n" + indent + "</rate>\n";
}

nlohmann::json otio_time(double value, FrameRate r) {
  return {{"OTIO_SCHEMA", "RationalTime.1"}, {"rate", r.fps()}, {"value", value}};
}

nlohmann::json otio_range(int64_t start, int64_t duration, FrameRate r) {
  return {{"OTIO_SCHEMA", "TimeRange.1"},
          {"start_time", otio_time(static_cast<double>(start), r)},
          {"duration", otio_time(static_cast<double>(duration), r)}};
}

// Splits off leading and trailing ASCII punctuation of a token, so that
// "budget," is highlighted as "<b>budget</b>,".
void split_punct(std::string_view tok, std::string_view* pre, std::string_view* core, std::string_view* post) {
  auto punct = [](char c) { return std::ispunct(static_cast<unsigned char>(c)) != 0; };
  size_t a = 0, b = tok.size();
  while (a < b && punct(tok[a])) ++a;
  while (b > a && punct(tok[b - 1])) --b;
  *pre = tok.substr(0, a);
  *core = tok.substr(a, b - a);
  *post = tok.substr(b);
}

std::string subtitle_text(std::string_view s, bool escape) {
  std::string out;
  for (char c : s) {
    if (escape && c == '&') out += "&amp;";
    else if (escape && c == '<') out += "&lt;";
    else if (escape && c == '>') out += "&gt;";
    else if (!escape && (c == '<' || c == '>')) continue;
    else out += c;
  }
  return out;
}

}  // namespace

// ---- formats ----

const std::vector<Format>& all_formats() {
  static const std::vector<Format> all = {Format::kEdl, Format::kFcp7Xml, Format::kFcpxml, Format::kOtio,
                                          Format::kMpvEdl, Format::kSrt, Format::kVtt};
  return all;
}

std::string_view format_name(Format f) {
  switch (f) {
    case Format::kEdl: return "edl";
    case Format::kFcp7Xml: return "fcp7";
    case Format::kFcpxml: return "fcpxml";
    case Format::kOtio: return "otio";
    case Format::kMpvEdl: return "mpv";
    case Format::kSrt: return "srt";
    case Format::kVtt: return "vtt";
  }
  return "edl";
}

std::string_view extension(Format f) {
  switch (f) {
    case Format::kEdl: return ".edl";
    case Format::kFcp7Xml: return ".xml";
    case Format::kFcpxml: return ".fcpxml";
    case Format::kOtio: return ".otio";
    case Format::kMpvEdl: return ".mpv.edl";
    case Format::kSrt: return ".srt";
    case Format::kVtt: return ".vtt";
  }
  return ".edl";
}

std::string_view content_type(Format f) {
  switch (f) {
    case Format::kEdl: return "text/plain; charset=utf-8";
    case Format::kFcp7Xml: return "application/xml";
    case Format::kFcpxml: return "application/xml";
    case Format::kOtio: return "application/json";
    case Format::kMpvEdl: return "text/plain; charset=utf-8";
    case Format::kSrt: return "application/x-subrip";
    case Format::kVtt: return "text/vtt";
  }
  return "text/plain";
}

std::string formats_help() {
  std::string s;
  for (Format f : all_formats()) {
    s += (s.empty() ? "" : ", ") + std::string(format_name(f)) + " (" + std::string(extension(f)) + ")";
  }
  return s;
}

Result<Format> parse_format(std::string_view name) {
  const std::string n = lower(name);
  for (Format f : all_formats()) {
    const std::string_view ext = extension(f);
    if (n == format_name(f) || n == ext || n == ext.substr(1)) return f;
  }
  if (n == "xmeml") return Format::kFcp7Xml;
  return invalid_argument("unknown export format '" + std::string(name) + "' (formats: " + formats_help() + ")");
}

Result<Format> format_for_path(std::string_view path) {
  const std::string n = lower(base_name(path));
  auto ends = [&](std::string_view ext) { return n.size() > ext.size() && n.ends_with(ext); };
  if (ends(extension(Format::kMpvEdl))) return Format::kMpvEdl;
  for (Format f : all_formats()) {
    if (f != Format::kMpvEdl && ends(extension(f))) return f;
  }
  return invalid_argument("export file '" + std::string(path) +
                          "': unknown extension (formats: " + formats_help() +
                          "; or force one with --export-format)");
}

Result<std::vector<Target>> targets(const std::vector<std::string>& paths, std::string_view forced_format) {
  std::vector<Target> out;
  std::optional<Format> forced;
  if (!forced_format.empty()) {
    SF_ASSIGN_OR_RETURN(Format f, parse_format(forced_format));
    forced = f;
  }
  std::set<std::string> seen;
  for (const auto& p : paths) {
    if (p.empty()) return invalid_argument("an export file name is empty");
    if (!seen.insert(absolute_path(p)).second) return invalid_argument("export file '" + p + "' is named twice");
    if (forced) {
      out.push_back({p, *forced});
      continue;
    }
    SF_ASSIGN_OR_RETURN(Format f, format_for_path(p));
    out.push_back({p, f});
  }
  return out;
}

// ---- timing ----

FrameRate sequence_rate(const Timeline& t) {
  if (t.rate.num > 0 && t.rate.den > 0) return t.rate;
  for (const auto& s : t.sources) {
    if (s.has_video && s.fps > 0) return frame_rate(s.fps);
  }
  return {30, 1};
}

FrameRate source_rate(const Timeline& t, const Source& s) {
  if (s.has_video && s.fps > 0) return frame_rate(s.fps);
  return sequence_rate(t);
}

int64_t source_start_frame(const Timeline& t, const Source& s) {
  if (s.timecode.empty()) return 0;
  auto f = timecode_to_frames(s.timecode, source_rate(t, s));
  return f.ok() ? *f : 0;
}

std::string reel_name(std::string_view path) {
  std::string stem = std::filesystem::path(base_name(path)).stem().string();
  std::string reel;
  for (char c : stem) {
    if (reel.size() == 8) break;
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 && u < 0x80) {
      reel += static_cast<char>(std::toupper(u));
    } else if ((c == '_' || c == '-' || c == ' ' || c == '.') && !reel.empty() && reel.back() != '_') {
      reel += '_';
    }
  }
  while (!reel.empty() && reel.back() == '_') reel.pop_back();
  return reel.empty() ? "AX" : reel;
}

std::string file_url(std::string_view path) {
  if (is_url(path)) return std::string(path);
  const std::string abs = absolute_path(path);
  std::string out = "file://";
  static const char* hex = "0123456789ABCDEF";
  for (char ch : abs) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 && c < 0x80) {
      out += ch;
    } else if (c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string highlighted_text(const Clip& c, bool escape) {
  std::set<std::string> targets;
  for (const auto& w : c.words) {
    for (auto& tok : search::tokenize(w)) targets.insert(std::move(tok));
  }
  std::string text = c.text;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    text.clear();
    for (const auto& w : c.words) text += (text.empty() ? "" : " ") + w;
  }
  text = utf8::to_valid(text);
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t ws = text.find_first_of(" \t\r\n", pos);
    const size_t end = ws == std::string::npos ? text.size() : ws;
    std::string_view tok(text.data() + pos, end - pos);
    std::string_view pre, core, post;
    split_punct(tok, &pre, &core, &post);
    if (!out.empty()) out += ' ';
    const auto toks = search::tokenize(core);
    const bool hit = !core.empty() && !toks.empty() &&
                     std::all_of(toks.begin(), toks.end(), [&](const std::string& k) { return targets.count(k) != 0; });
    if (hit) {
      out += subtitle_text(pre, escape) + "<b>" + subtitle_text(core, escape) + "</b>" + subtitle_text(post, escape);
    } else {
      out += subtitle_text(tok, escape);
    }
    pos = text.find_first_not_of(" \t\r\n", end);
    if (pos == std::string::npos) break;
  }
  return out;
}

// ---- writers ----

std::string to_edl(const Timeline& t) {
  const FrameRate seq = sequence_rate(t);
  std::string out = "TITLE: " + utf8::to_valid(t.name) + "\n";
  out += seq.drop_frame() ? "FCM: DROP FRAME\n\n" : "FCM: NON-DROP FRAME\n\n";
  // Reel names, unique per source: a clash keeps the first 6 characters and
  // numbers the rest.
  std::vector<std::string> reels(t.sources.size());
  std::set<std::string> used;
  for (size_t i = 0; i < t.sources.size(); ++i) {
    std::string r = reel_name(t.sources[i].path);
    for (int n = 2; used.count(r) != 0; ++n) r = reel_name(t.sources[i].path).substr(0, 5) + std::to_string(n);
    used.insert(r);
    reels[i] = r;
  }
  int event = 0;
  for (const auto& c : t.clips) {
    const Source& s = t.sources[static_cast<size_t>(c.source)];
    const ClipFrames f = frames_of(t, seq, c);
    char line[256];
    std::snprintf(line, sizeof(line), "%03d  %-8s %-5s C        %s %s %s %s\n", ++event,
                  reels[static_cast<size_t>(c.source)].c_str(), s.has_video ? "AA/V" : "AA",
                  timecode(f.tc0 + f.src_in, f.src_rate).c_str(), timecode(f.tc0 + f.src_out, f.src_rate).c_str(),
                  timecode(f.rec_in, seq).c_str(), timecode(f.rec_out, seq).c_str());
    out += line;
    out += "* FROM CLIP NAME: " + display_name(s) + "\n";
    if (!is_url(s.path)) out += "* SOURCE FILE: " + utf8::to_valid(absolute_path(s.path)) + "\n";
    out += "\n";
  }
  return out;
}

std::string to_fcp7_xml(const Timeline& t) {
  const FrameRate seq = sequence_rate(t);
  int width = 0, height = 0;
  sequence_size(t, &width, &height);
  int64_t total = 0;
  std::vector<ClipFrames> frames;
  frames.reserve(t.clips.size());
  for (const auto& c : t.clips) {
    frames.push_back(frames_of(t, seq, c));
    total = std::max(total, frames.back().rec_out);
  }
  const std::vector<int64_t> lengths = media_lengths(t);
  std::vector<bool> file_written(t.sources.size(), false);
  // The full <file> the first time a source appears, a reference after.
  auto file_element = [&](int source, const std::string& in) {
    const Source& s = t.sources[static_cast<size_t>(source)];
    const std::string id = "file-" + std::to_string(source + 1);
    if (file_written[static_cast<size_t>(source)]) return in + "<file id=\"" + id + "\"/>\n";
    file_written[static_cast<size_t>(source)] = true;
    const FrameRate r = source_rate(t, s);
    const int64_t tc0 = source_start_frame(t, s);
    std::string x = in + "<file id=\"" + id + "\">\n";
    x += in + "  <name>" + xml(display_name(s)) + "</name>\n";
    std::string url = file_url(s.path);
    if (url.rfind("file:///", 0) == 0) url = "file://localhost/" + url.substr(8);
    x += in + "  <pathurl>" + xml(url) + "</pathurl>\n";
    x += fcp7_rate(r, in + "  ");
    x += in + "  <duration>" + std::to_string(lengths[static_cast<size_t>(source)]) + "</duration>\n";
    x += in + "  <timecode>\n" + fcp7_rate(r, in + "    ");
    x += in + "    <string>" + timecode(tc0, r) + "</string>\n";
    x += in + "    <frame>" + std::to_string(tc0) + "</frame>\n";
    x += in + "    <displayformat>" + (r.drop_frame() ? "DF" : "NDF") + "</displayformat>\n";
    x += in + "  </timecode>\n";
    x += in + "  <media>\n";
    if (s.has_video) {
      x += in + "    <video>\n" + in + "      <samplecharacteristics>\n" + fcp7_rate(r, in + "        ");
      x += in + "        <width>" + std::to_string(s.width > 0 ? s.width : width) + "</width>\n";
      x += in + "        <height>" + std::to_string(s.height > 0 ? s.height : height) + "</height>\n";
      x += in + "      </samplecharacteristics>\n" + in + "    </video>\n";
    }
    x += in + "    <audio>\n" + in + "      <samplecharacteristics>\n";
    x += in + "        <depth>16</depth>\n";
    x += in + "        <samplerate>" + std::to_string(sample_rate(s)) + "</samplerate>\n";
    x += in + "      </samplecharacteristics>\n";
    x += in + "      <channelcount>" + std::to_string(channels(s)) + "</channelcount>\n";
    x += in + "    </audio>\n" + in + "  </media>\n" + in + "</file>\n";
    return x;
  };
  int item = 0;
  auto clipitem = [&](size_t k, bool audio) {
    const Clip& c = t.clips[k];
    const ClipFrames& f = frames[k];
    const Source& s = t.sources[static_cast<size_t>(c.source)];
    const std::string in = "            ";
    std::string x = "          <clipitem id=\"clipitem-" + std::to_string(++item) + "\">\n";
    x += in + "<name>" + xml(display_name(s)) + "</name>\n";
    x += in + "<enabled>TRUE</enabled>\n";
    x += in + "<duration>" + std::to_string(lengths[static_cast<size_t>(c.source)]) + "</duration>\n";
    x += fcp7_rate(f.src_rate, in);
    x += in + "<start>" + std::to_string(f.rec_in) + "</start>\n";
    x += in + "<end>" + std::to_string(f.rec_out) + "</end>\n";
    x += in + "<in>" + std::to_string(f.src_in) + "</in>\n";
    x += in + "<out>" + std::to_string(f.src_out) + "</out>\n";
    x += file_element(c.source, in);
    if (audio) {
      x += in + "<sourcetrack>\n" + in + "  <mediatype>audio</mediatype>\n" + in +
           "  <trackindex>1</trackindex>\n" + in + "</sourcetrack>\n";
    }
    x += "          </clipitem>\n";
    return x;
  };
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE xmeml>\n<xmeml version=\"5\">\n";
  out += "  <sequence id=\"sequence-1\">\n";
  out += "    <name>" + xml(t.name) + "</name>\n";
  out += "    <duration>" + std::to_string(total) + "</duration>\n";
  out += fcp7_rate(seq, "    ");
  out += "    <timecode>\n" + fcp7_rate(seq, "      ");
  out += "      <string>" + timecode(0, seq) + "</string>\n      <frame>0</frame>\n";
  out += std::string("      <displayformat>") + (seq.drop_frame() ? "DF" : "NDF") + "</displayformat>\n";
  out += "    </timecode>\n";
  out += "    <media>\n      <video>\n        <format>\n          <samplecharacteristics>\n";
  out += fcp7_rate(seq, "            ");
  out += "            <width>" + std::to_string(width) + "</width>\n";
  out += "            <height>" + std::to_string(height) + "</height>\n";
  out += "            <pixelaspectratio>square</pixelaspectratio>\n";
  out += "          </samplecharacteristics>\n        </format>\n        <track>\n";
  for (size_t k = 0; k < t.clips.size(); ++k) {
    if (t.sources[static_cast<size_t>(t.clips[k].source)].has_video) out += clipitem(k, false);
  }
  out += "        </track>\n      </video>\n      <audio>\n";
  out += "        <numOutputChannels>2</numOutputChannels>\n";
  out += "        <format>\n          <samplecharacteristics>\n            <depth>16</depth>\n";
  out += "            <samplerate>48000</samplerate>\n          </samplecharacteristics>\n        </format>\n";
  out += "        <track>\n";
  for (size_t k = 0; k < t.clips.size(); ++k) out += clipitem(k, true);
  out += "        </track>\n      </audio>\n    </media>\n  </sequence>\n</xmeml>\n";
  return out;
}

std::string to_fcpxml(const Timeline& t) {
  const FrameRate seq = sequence_rate(t);
  int width = 0, height = 0;
  sequence_size(t, &width, &height);
  std::string res;
  int next_id = 1;
  // Formats: the sequence's first, then one per distinct video source shape.
  std::map<std::tuple<int, int, int, int>, std::string> formats;
  auto format_id = [&](FrameRate r, int w, int h) {
    auto key = std::make_tuple(r.num, r.den, w, h);
    auto it = formats.find(key);
    if (it != formats.end()) return it->second;
    const std::string id = "r" + std::to_string(next_id++);
    formats[key] = id;
    res += "    <format id=\"" + id + "\" frameDuration=\"" + rational(1, r) + "\" width=\"" + std::to_string(w) +
           "\" height=\"" + std::to_string(h) + "\"/>\n";
    return id;
  };
  const std::string seq_format = format_id(seq, width, height);
  const std::vector<int64_t> lengths = media_lengths(t);
  std::vector<std::string> asset_ids(t.sources.size());
  std::vector<std::string> asset_formats(t.sources.size());
  std::vector<bool> used(t.sources.size(), false);
  for (const auto& c : t.clips) used[static_cast<size_t>(c.source)] = true;
  std::string assets;
  for (size_t i = 0; i < t.sources.size(); ++i) {
    if (!used[i]) continue;
    const Source& s = t.sources[i];
    const FrameRate r = source_rate(t, s);
    if (s.has_video) {
      asset_formats[i] = format_id(r, s.width > 0 ? s.width : width, s.height > 0 ? s.height : height);
    }
    asset_ids[i] = "r" + std::to_string(next_id++);
    std::string a = "    <asset id=\"" + asset_ids[i] + "\" name=\"" + xml(display_name(s)) + "\" start=\"" +
                    rational(source_start_frame(t, s), r) + "\" duration=\"" +
                    rational(lengths[i], r) + "\" hasVideo=\"" +
                    (s.has_video ? "1" : "0") + "\"";
    if (s.has_video) a += " format=\"" + asset_formats[i] + "\" videoSources=\"1\"";
    a += " hasAudio=\"1\" audioSources=\"1\" audioChannels=\"" + std::to_string(channels(s)) + "\" audioRate=\"" +
         std::to_string(sample_rate(s)) + "\">\n";
    a += "      <media-rep kind=\"original-media\" src=\"" + xml(file_url(s.path)) + "\"/>\n";
    a += "    </asset>\n";
    assets += a;
  }
  res += assets;
  std::string spine;
  int64_t total = 0;
  for (const auto& c : t.clips) {
    const ClipFrames f = frames_of(t, seq, c);
    const Source& s = t.sources[static_cast<size_t>(c.source)];
    total = std::max(total, f.rec_out);
    std::string clip = "            <asset-clip ref=\"" + asset_ids[static_cast<size_t>(c.source)] + "\" offset=\"" +
                       rational(f.rec_in, seq) + "\" name=\"" + xml(display_name(s)) + "\" start=\"" +
                       rational(f.tc0 + f.src_in, f.src_rate) + "\" duration=\"" +
                       rational(f.rec_out - f.rec_in, seq) + "\"";
    if (s.has_video) clip += " format=\"" + asset_formats[static_cast<size_t>(c.source)] + "\"";
    clip += std::string(" tcFormat=\"") + (f.src_rate.drop_frame() ? "DF" : "NDF") + "\"/>\n";
    spine += clip;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE fcpxml>\n<fcpxml version=\"1.10\">\n";
  out += "  <resources>\n" + res + "  </resources>\n";
  out += "  <library>\n    <event name=\"" + xml(t.name) + "\">\n      <project name=\"" + xml(t.name) + "\">\n";
  out += "        <sequence format=\"" + seq_format + "\" duration=\"" + rational(total, seq) +
         "\" tcStart=\"0s\" tcFormat=\"" + (seq.drop_frame() ? "DF" : "NDF") +
         "\" audioLayout=\"stereo\" audioRate=\"48k\">\n";
  out += "          <spine>\n" + spine + "          </spine>\n";
  out += "        </sequence>\n      </project>\n    </event>\n  </library>\n</fcpxml>\n";
  return out;
}

std::string to_otio(const Timeline& t) {
  using nlohmann::json;
  const FrameRate seq = sequence_rate(t);
  const std::vector<int64_t> lengths = media_lengths(t);
  json video = json::array(), audio = json::array();
  for (const auto& c : t.clips) {
    const ClipFrames f = frames_of(t, seq, c);
    const Source& s = t.sources[static_cast<size_t>(c.source)];
    const json ref = {{"OTIO_SCHEMA", "ExternalReference.1"},
                      {"name", display_name(s)},
                      {"target_url", file_url(s.path)},
                      {"available_range", otio_range(f.tc0, lengths[static_cast<size_t>(c.source)], f.src_rate)},
                      {"available_image_bounds", nullptr},
                      {"metadata", json::object()}};
    std::string words;
    for (const auto& w : c.words) words += (words.empty() ? "" : " ") + w;
    json clip = {{"OTIO_SCHEMA", "Clip.2"},
                       {"name", display_name(s)},
                       {"source_range", otio_range(f.tc0 + f.src_in, f.src_out - f.src_in, f.src_rate)},
                       {"media_references", {{"DEFAULT_MEDIA", ref}}},
                       {"active_media_reference_key", "DEFAULT_MEDIA"},
                       {"effects", json::array()},
                       {"markers", json::array()},
                       {"enabled", true},
                       {"metadata",
                        {{"studioflow",
                          {{"words", words},
                           {"text", c.text},
                           {"start", c.start},
                           {"end", c.end},
                           {"output_start", c.output_start},
                           {"output_end", c.output_end}}}}}};
    if (s.has_video) {
      video.push_back(clip);
    } else {
      // The picture side of an audio-only clip is a gap of its length.
      video.push_back({{"OTIO_SCHEMA", "Gap.1"},
                       {"name", ""},
                       {"source_range", otio_range(0, f.rec_out - f.rec_in, seq)},
                       {"effects", json::array()},
                       {"markers", json::array()},
                       {"enabled", true},
                       {"metadata", json::object()}});
    }
    audio.push_back(std::move(clip));
  }
  auto track = [](const char* name, const char* kind, json children) {
    return json{{"OTIO_SCHEMA", "Track.1"}, {"name", name},          {"kind", kind},
                {"children", std::move(children)}, {"source_range", nullptr}, {"effects", json::array()},
                {"markers", json::array()},      {"enabled", true},      {"metadata", json::object()}};
  };
  const json stack = {{"OTIO_SCHEMA", "Stack.1"},
                      {"name", "tracks"},
                      {"children", json::array({track("V1", "Video", std::move(video)),
                                                track("A1", "Audio", std::move(audio))})},
                      {"source_range", nullptr},
                      {"effects", json::array()},
                      {"markers", json::array()},
                      {"enabled", true},
                      {"metadata", json::object()}};
  const json tl = {{"OTIO_SCHEMA", "Timeline.1"},
                   {"name", t.name},
                   {"global_start_time", otio_time(0, seq)},
                   {"tracks", stack},
                   {"metadata", json::object()}};
  return dump_json(tl, 2) + "\n";
}

std::string to_mpv_edl(const Timeline& t) {
  std::string out = "# mpv EDL v0\n";
  for (const auto& c : t.clips) {
    const std::string path = absolute_path(t.sources[static_cast<size_t>(c.source)].path);
    // A path mpv would read as syntax goes in its length-prefixed form.
    const bool plain = !path.empty() && path.find_first_of(",;\n\r%=!") == std::string::npos &&
                       path.front() != ' ' && path.front() != '#' && path.back() != ' ';
    char times[96];
    std::snprintf(times, sizeof(times), ",%.6f,%.6f\n", std::max(0.0, c.start), std::max(0.0, c.end - c.start));
    out += (plain ? path : "%" + std::to_string(path.size()) + "%" + path) + times;
  }
  return out;
}

std::string to_srt(const Timeline& t) {
  std::string out;
  int n = 0;
  for (const auto& c : t.clips) {
    out += std::to_string(++n) + "\n" + srt_time(c.output_start, ',') + " --> " + srt_time(c.output_end, ',') +
           "\n" + highlighted_text(c, /*escape=*/false) + "\n\n";
  }
  return out;
}

std::string to_vtt(const Timeline& t) {
  std::string out = "WEBVTT\n\n";
  int n = 0;
  for (const auto& c : t.clips) {
    out += std::to_string(++n) + "\n" + srt_time(c.output_start, '.') + " --> " + srt_time(c.output_end, '.') +
           "\n" + highlighted_text(c, /*escape=*/true) + "\n\n";
  }
  return out;
}

std::string render(const Timeline& t, Format f) {
  switch (f) {
    case Format::kEdl: return to_edl(t);
    case Format::kFcp7Xml: return to_fcp7_xml(t);
    case Format::kFcpxml: return to_fcpxml(t);
    case Format::kOtio: return to_otio(t);
    case Format::kMpvEdl: return to_mpv_edl(t);
    case Format::kSrt: return to_srt(t);
    case Format::kVtt: return to_vtt(t);
  }
  return {};
}

}  // namespace sf::exports
