#include "asr/sphinx/phone_durations.h"

#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

#include "asr/sphinx/model_files.h"

namespace sf::asr::sphinx {
namespace {

namespace fs = std::filesystem;

// The names of the context-independent phones of a binary model
// definition and the transition matrix of each (pocketsphinx's bin_mdef
// layout: "BMDF", version, the length of a text description, the
// description, ten counts, the phone names, padding to 4 bytes, the
// context tree of n_cd_tree 8-byte nodes, then 12-byte phone records
// {ssid, tmat, attributes}, the context-independent ones first).
Result<std::vector<std::pair<std::string, int>>> read_mdef(const fs::path& file) {
  SF_ASSIGN_OR_RETURN(std::string b, read_model_file(file));
  auto bad = [&](std::string_view why) {
    return corrupt("PocketSphinx model definition " + file.string() + " is not readable: " + std::string(why));
  };
  if (b.size() < 12) return bad("too short");
  bool swap = false;
  if (b.compare(0, 4, "BMDF") == 0) {
    swap = false;
  } else if (b.compare(0, 4, "FDMB") == 0) {
    swap = true;
  } else {
    return bad("not a binary model definition (no BMDF mark)");
  }
  // The mark was written as a native 32-bit word: "BMDF" in file order is
  // a little-endian file.
  const uint32_t probe = 1;
  const bool little = *reinterpret_cast<const uint8_t*>(&probe) == 1;
  if (!little) swap = !swap;
  WordReader r(b, swap);
  int32_t description = 0;
  if (!r.i32(8, &description) || description < 0) return bad("no description length");
  size_t at = 12 + static_cast<size_t>(description);
  int32_t counts[10];
  for (int i = 0; i < 10; ++i) {
    if (!r.i32(at, &counts[i]) || counts[i] < 0) return bad("its counts are cut short");
    at += 4;
  }
  const int32_t n_ciphone = counts[0], n_phone = counts[1], n_cd_tree = counts[8];
  if (n_ciphone == 0 || n_phone < n_ciphone) return bad("no phones");
  std::vector<std::pair<std::string, int>> out;
  for (int32_t i = 0; i < n_ciphone; ++i) {
    const size_t end = b.find('\0', at);
    if (end == std::string::npos) return bad("its phone names are cut short");
    out.emplace_back(b.substr(at, end - at), 0);
    at = end + 1;
  }
  at = (at + 3) & ~static_cast<size_t>(3);
  at += static_cast<size_t>(n_cd_tree) * 8;
  for (int32_t i = 0; i < n_ciphone; ++i) {
    int32_t tmat = 0;
    if (!r.i32(at + static_cast<size_t>(i) * 12 + 4, &tmat) || tmat < 0) return bad("its phone records are cut short");
    out[static_cast<size_t>(i)].second = tmat;
  }
  return out;
}

// Transition matrices in PocketSphinx's binary parameter layout: a text
// header from "s3" to "endhdr\n", the byte-order word 0x11223344, the
// matrix count, the rows (emitting states) and columns (states + exit) of
// each, the value count, the values (float32; counts or probabilities: each
// row is normalized here).
Result<std::vector<std::vector<std::vector<double>>>> read_tmat(const fs::path& file) {
  SF_ASSIGN_OR_RETURN(std::string b, read_model_file(file));
  auto bad = [&](std::string_view why) {
    return corrupt("PocketSphinx transition matrices " + file.string() + " are not readable: " + std::string(why));
  };
  auto layout = parameter_layout(b);
  if (!layout.ok()) return bad(layout.status().message());
  size_t at = layout->data;
  WordReader r(b, layout->swap);
  int32_t n = 0, rows = 0, cols = 0, total = 0;
  if (!r.i32(at, &n) || !r.i32(at + 4, &rows) || !r.i32(at + 8, &cols) || !r.i32(at + 12, &total)) {
    return bad("its sizes are cut short");
  }
  if (n <= 0 || rows <= 0 || cols != rows + 1 || static_cast<int64_t>(n) * rows * cols != total) {
    return bad("its sizes do not fit together");
  }
  at += 16;
  std::vector<std::vector<std::vector<double>>> out(static_cast<size_t>(n));
  for (auto& m : out) {
    m.assign(static_cast<size_t>(rows), std::vector<double>(static_cast<size_t>(cols), 0.0));
    for (auto& row : m) {
      double sum = 0;
      for (auto& v : row) {
        float f = 0;
        if (!r.f32(at, &f)) return bad("its values are cut short");
        at += 4;
        if (!std::isfinite(f) || f < 0) return bad("a value is not a probability or a count");
        v = f;
        sum += f;
      }
      if (!(sum > 0)) return bad("a state has no way out");
      for (auto& v : row) v /= sum;
    }
  }
  return out;
}

// Mean frames from entering state 0 to leaving the model: t = (I - Q)^-1 1
// over the emitting states, by Gaussian elimination (a handful of states).
double expected_frames(const std::vector<std::vector<double>>& a) {
  const size_t n = a.size();
  std::vector<std::vector<double>> m(n, std::vector<double>(n + 1, 0.0));
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) m[i][j] = (i == j ? 1.0 : 0.0) - a[i][j];
    m[i][n] = 1.0;
  }
  for (size_t c = 0; c < n; ++c) {
    size_t pivot = c;
    for (size_t i = c + 1; i < n; ++i) {
      if (std::abs(m[i][c]) > std::abs(m[pivot][c])) pivot = i;
    }
    if (std::abs(m[pivot][c]) < 1e-12) return 0;  // a state that is never left
    std::swap(m[c], m[pivot]);
    for (size_t i = 0; i < n; ++i) {
      if (i == c) continue;
      const double f = m[i][c] / m[c][c];
      for (size_t j = c; j <= n; ++j) m[i][j] -= f * m[c][j];
    }
  }
  return m[0][n] / m[0][0];
}

}  // namespace

Result<std::map<std::string, double>> expected_phone_seconds(const fs::path& hmm_dir, int frame_rate) {
  if (frame_rate <= 0) return invalid_argument("the frame rate must be positive");
  SF_ASSIGN_OR_RETURN(auto phones, read_mdef(hmm_dir / "mdef"));
  SF_ASSIGN_OR_RETURN(auto tmats, read_tmat(hmm_dir / "transition_matrices"));
  std::map<std::string, double> out;
  for (const auto& [name, tmat] : phones) {
    if (static_cast<size_t>(tmat) >= tmats.size()) {
      return corrupt("PocketSphinx model definition " + (hmm_dir / "mdef").string() + " names transition matrix " +
                     std::to_string(tmat) + " of " + std::to_string(tmats.size()));
    }
    const double frames = expected_frames(tmats[static_cast<size_t>(tmat)]);
    if (frames > 0) out[name] = frames / frame_rate;
  }
  return out;
}

}  // namespace sf::asr::sphinx
