#include "asr/sphinx/adapt.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>

#include "asr/sphinx/model_files.h"

namespace sf::asr::sphinx {
namespace {

namespace fs = std::filesystem;

// A Gaussian parameter file (`means` or `variances`): codebooks, streams,
// densities, each stream's dimensions, the value count, the values
// (codebook-major, then stream, density, dimension).
struct ParameterFile {
  int codebooks = 0, densities = 0;
  std::vector<int> dims;
  std::vector<std::vector<float>> values;  // per stream: codebooks x densities x dims
};

Result<ParameterFile> read_parameters(const fs::path& file) {
  SF_ASSIGN_OR_RETURN(std::string b, read_model_file(file));
  auto bad = [&](std::string_view why) {
    return corrupt("PocketSphinx Gaussians " + file.string() +
                   " are not readable: " + std::string(why));
  };
  auto layout = parameter_layout(b);
  if (!layout.ok()) return bad(layout.status().message());
  WordReader r(b, layout->swap);
  size_t at = layout->data;
  int32_t codebooks = 0, streams = 0, densities = 0;
  if (!r.i32(at, &codebooks) || !r.i32(at + 4, &streams) || !r.i32(at + 8, &densities)) {
    return bad("its sizes are cut short");
  }
  if (codebooks <= 0 || streams <= 0 || streams > 8 || densities <= 0)
    return bad("its sizes are out of range");
  at += 12;
  ParameterFile p;
  p.codebooks = codebooks;
  p.densities = densities;
  int64_t per_density = 0;
  for (int s = 0; s < streams; ++s) {
    int32_t d = 0;
    if (!r.i32(at, &d) || d <= 0 || d > 1000) return bad("a stream's dimension is out of range");
    p.dims.push_back(d);
    per_density += d;
    at += 4;
  }
  int32_t total = 0;
  if (!r.i32(at, &total) || static_cast<int64_t>(total) != per_density * codebooks * densities) {
    return bad("its sizes do not fit together");
  }
  at += 4;
  p.values.resize(static_cast<size_t>(streams));
  for (int s = 0; s < streams; ++s) {
    p.values[s].resize(static_cast<size_t>(codebooks) * densities * p.dims[s]);
  }
  for (int c = 0; c < codebooks; ++c) {
    for (int s = 0; s < streams; ++s) {
      for (int k = 0; k < densities; ++k) {
        for (int j = 0; j < p.dims[s]; ++j) {
          float v = 0;
          if (!r.f32(at, &v)) return bad("its values are cut short");
          if (!std::isfinite(v)) return bad("a value is not a number");
          at += 4;
          p.values[s][(static_cast<size_t>(c) * densities + k) * p.dims[s] + j] = v;
        }
      }
    }
  }
  return p;
}

// Solves m x = v (n x n, row-major) by Gaussian elimination with partial
// pivoting; false when m is singular.
bool solve(std::vector<double> m, std::vector<double> v, int n, std::vector<double>* x) {
  for (int c = 0; c < n; ++c) {
    int pivot = c;
    for (int i = c + 1; i < n; ++i) {
      if (std::abs(m[i * n + c]) > std::abs(m[pivot * n + c])) pivot = i;
    }
    if (std::abs(m[pivot * n + c]) < 1e-12) return false;
    if (pivot != c) {
      for (int j = 0; j < n; ++j) std::swap(m[c * n + j], m[pivot * n + j]);
      std::swap(v[c], v[pivot]);
    }
    for (int i = c + 1; i < n; ++i) {
      const double f = m[i * n + c] / m[c * n + c];
      if (f == 0) continue;
      for (int j = c; j < n; ++j) m[i * n + j] -= f * m[c * n + j];
      v[i] -= f * v[c];
    }
  }
  x->assign(n, 0.0);
  for (int i = n - 1; i >= 0; --i) {
    double s = v[i];
    for (int j = i + 1; j < n; ++j) s -= m[i * n + j] * (*x)[j];
    (*x)[i] = s / m[i * n + i];
  }
  return true;
}

MllrTransform::Stream identity(int dims) {
  MllrTransform::Stream t;
  t.dims = dims;
  t.a.assign(static_cast<size_t>(dims) * dims, 0.0);
  for (int i = 0; i < dims; ++i) t.a[static_cast<size_t>(i) * dims + i] = 1.0;
  t.b.assign(dims, 0.0);
  t.h.assign(dims, 1.0);
  return t;
}

// Occupancy statistics of one stream's Gaussians: count, and per
// dimension (dimension-major) the sums of x and of x squared.
struct Stats {
  std::vector<double> n, x, xx;
};

// The E-step over one stream: Gaussian posteriors of each used frame under
// the model transformed by `t` (all Gaussians weighed equally).
Stats accumulate(const ModelGaussians::Stream& g, const MllrTransform::Stream& t,
                 const std::vector<std::vector<float>>& features, int offset, int step) {
  const int d = g.dims, count = g.count;
  // The transformed model, dimension-major.
  std::vector<float> mean(static_cast<size_t>(d) * count), inv(static_cast<size_t>(d) * count);
  std::vector<float> konst(count, 0.0f);
  for (int k = 0; k < count; ++k) {
    double c = 0;
    for (int i = 0; i < d; ++i) {
      double m = t.b[i];
      for (int j = 0; j < d; ++j)
        m += t.a[static_cast<size_t>(i) * d + j] * g.mean[static_cast<size_t>(j) * count + k];
      const double v = t.h[i] * g.var[static_cast<size_t>(i) * count + k];
      mean[static_cast<size_t>(i) * count + k] = static_cast<float>(m);
      inv[static_cast<size_t>(i) * count + k] = static_cast<float>(1.0 / v);
      c += std::log(2 * std::numbers::pi * v);
    }
    konst[k] = static_cast<float>(-0.5 * c);
  }
  Stats s;
  s.n.assign(count, 0.0);
  s.x.assign(static_cast<size_t>(d) * count, 0.0);
  s.xx.assign(static_cast<size_t>(d) * count, 0.0);
  std::vector<float> ll(count);
  for (size_t f = 0; f < features.size(); f += static_cast<size_t>(step)) {
    const float* x = features[f].data() + offset;
    std::copy(konst.begin(), konst.end(), ll.begin());
    for (int i = 0; i < d; ++i) {
      const float xi = x[i];
      const float* m = mean.data() + static_cast<size_t>(i) * count;
      const float* iv = inv.data() + static_cast<size_t>(i) * count;
      for (int k = 0; k < count; ++k) {
        const float diff = xi - m[k];
        ll[k] -= 0.5f * diff * diff * iv[k];
      }
    }
    const float best = *std::max_element(ll.begin(), ll.end());
    if (!std::isfinite(best)) continue;  // a frame that is not a number counts nothing
    double sum = 0;
    for (int k = 0; k < count; ++k) {
      if (ll[k] > best - 12) sum += std::exp(static_cast<double>(ll[k] - best));
    }
    for (int k = 0; k < count; ++k) {
      if (ll[k] <= best - 12) continue;
      const double p = std::exp(static_cast<double>(ll[k] - best)) / sum;
      if (p < 1e-4) continue;
      s.n[k] += p;
      for (int i = 0; i < d; ++i) {
        s.x[static_cast<size_t>(i) * count + k] += p * x[i];
        s.xx[static_cast<size_t>(i) * count + k] += p * x[i] * x[i];
      }
    }
  }
  return s;
}

// The M-step over one stream: each row of [A b] in closed form (diagonal
// covariances), then the variance scale under the new means; both drawn
// towards the identity by `prior` frames.
MllrTransform::Stream maximize(const ModelGaussians::Stream& g, const Stats& s, double prior) {
  const int d = g.dims, count = g.count, n = d + 1;
  MllrTransform::Stream t = identity(d);
  double frames = 0;
  for (double v : s.n) frames += v;
  if (frames <= 0) return t;
  std::vector<double> xi(n);
  for (int i = 0; i < d; ++i) {
    std::vector<double> gm(static_cast<size_t>(n) * n, 0.0), k(n, 0.0);
    for (int c = 0; c < count; ++c) {
      if (s.n[c] <= 0) continue;
      const double iv = 1.0 / g.var[static_cast<size_t>(i) * count + c];
      for (int j = 0; j < d; ++j) xi[j] = g.mean[static_cast<size_t>(j) * count + c];
      xi[d] = 1.0;
      const double w = s.n[c] * iv, y = s.x[static_cast<size_t>(i) * count + c] * iv;
      for (int a = 0; a < n; ++a) {
        k[a] += y * xi[a];
        for (int b = 0; b < n; ++b) gm[static_cast<size_t>(a) * n + b] += w * xi[a] * xi[b];
      }
    }
    // The prior: `prior` frames' worth of the data's own diagonal, all
    // of it for the identity row.
    for (int a = 0; a < n; ++a) {
      const double diag = prior * gm[static_cast<size_t>(a) * n + a] / frames;
      gm[static_cast<size_t>(a) * n + a] += diag;
      if (a == i) k[a] += diag;
    }
    std::vector<double> row;
    if (!solve(gm, k, n, &row)) continue;
    for (int j = 0; j < d; ++j) t.a[static_cast<size_t>(i) * d + j] = row[j];
    t.b[i] = row[d];
  }
  for (int i = 0; i < d; ++i) {
    double num = 0;
    for (int c = 0; c < count; ++c) {
      if (s.n[c] <= 0) continue;
      double m = t.b[i];
      for (int j = 0; j < d; ++j)
        m += t.a[static_cast<size_t>(i) * d + j] * g.mean[static_cast<size_t>(j) * count + c];
      const size_t at = static_cast<size_t>(i) * count + c;
      num += (s.xx[at] - 2 * m * s.x[at] + s.n[c] * m * m) / g.var[at];
    }
    t.h[i] = std::clamp((num + prior) / (frames + prior), 0.05, 4.0);
  }
  return t;
}

}  // namespace

Result<ModelGaussians> read_model_gaussians(const fs::path& hmm_dir, float var_floor) {
  SF_ASSIGN_OR_RETURN(ParameterFile means, read_parameters(hmm_dir / "means"));
  SF_ASSIGN_OR_RETURN(ParameterFile vars, read_parameters(hmm_dir / "variances"));
  if (means.codebooks != vars.codebooks || means.densities != vars.densities ||
      means.dims != vars.dims) {
    return corrupt("PocketSphinx model " + hmm_dir.string() +
                   ": its means and variances differ in shape");
  }
  ModelGaussians out;
  const int count = means.codebooks * means.densities;
  for (size_t s = 0; s < means.dims.size(); ++s) {
    ModelGaussians::Stream st;
    st.dims = means.dims[s];
    st.count = count;
    st.mean.resize(static_cast<size_t>(st.dims) * count);
    st.var.resize(static_cast<size_t>(st.dims) * count);
    for (int k = 0; k < count; ++k) {
      for (int j = 0; j < st.dims; ++j) {
        const size_t from = static_cast<size_t>(k) * st.dims + j,
                     to = static_cast<size_t>(j) * count + k;
        st.mean[to] = means.values[s][from];
        st.var[to] = std::max(vars.values[s][from], var_floor);
      }
    }
    out.streams.push_back(std::move(st));
  }
  return out;
}

MllrTransform estimate_mllr(const ModelGaussians& model,
                            const std::vector<std::vector<float>>& features,
                            const MllrOptions& options) {
  MllrTransform t;
  for (const auto& s : model.streams) t.streams.push_back(identity(s.dims));
  if (features.empty()) return t;
  for (int it = 0; it < options.iterations; ++it) {
    int offset = 0;
    for (size_t s = 0; s < model.streams.size(); ++s) {
      const auto& g = model.streams[s];
      const Stats stats =
          accumulate(g, t.streams[s], features, offset, std::max(1, options.frame_step));
      t.streams[s] = maximize(g, stats, options.prior_frames);
      offset += g.dims;
    }
  }
  // A fit that is not a number (statistics too large to hold) is no fit.
  for (const auto& st : t.streams) {
    for (const auto* v : {&st.a, &st.b, &st.h}) {
      for (double x : *v) {
        if (!std::isfinite(x)) {
          MllrTransform none;
          for (const auto& s : model.streams) none.streams.push_back(identity(s.dims));
          return none;
        }
      }
    }
  }
  return t;
}

std::string mllr_file_text(const MllrTransform& transform) {
  std::string out = "1\n" + std::to_string(transform.streams.size()) + "\n";
  char number[32];
  auto put = [&](double v) {
    std::snprintf(number, sizeof(number), "%.7g ", v);
    out += number;
  };
  for (const auto& s : transform.streams) {
    out += std::to_string(s.dims) + "\n";
    for (int i = 0; i < s.dims; ++i) {
      for (int j = 0; j < s.dims; ++j) put(s.a[static_cast<size_t>(i) * s.dims + j]);
      out += "\n";
    }
    for (double v : s.b) put(v);
    out += "\n";
    for (double v : s.h) put(v);
    out += "\n";
  }
  return out;
}

}  // namespace sf::asr::sphinx
