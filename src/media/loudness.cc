#include "media/loudness.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <numbers>

#include "core/cancel.h"
#include "core/files.h"
#include "core/log.h"
#include "media/av.h"

namespace sf::media {
namespace {

constexpr double kAbsoluteGate = -70.0;
constexpr int kPhases = 4;        // true-peak oversampling
constexpr int kTapsPerPhase = 12;

double to_db(double linear) { return linear > 0 ? 20.0 * std::log10(linear) : -std::numeric_limits<double>::infinity(); }
double energy_to_lufs(double e) { return e > 0 ? -0.691 + 10.0 * std::log10(e) : -std::numeric_limits<double>::infinity(); }
double lufs_to_energy(double l) { return std::pow(10.0, (l + 0.691) / 10.0); }

struct Biquad {
  double b0, b1, b2, a1, a2;
  // One sample through the filter; s = {x1, x2, y1, y2}.
  double step(double x, double* s) const {
    const double y = b0 * x + b1 * s[0] + b2 * s[1] - a1 * s[2] - a2 * s[3];
    s[1] = s[0];
    s[0] = x;
    s[3] = s[2];
    s[2] = y;
    return y;
  }
};

// The K-weighting of BS.1770: a high shelf (the head's acoustic effect)
// then a high pass, both from their analogue prototypes so any rate works.
void k_weighting(int rate, Biquad* shelf, Biquad* highpass) {
  const double pi = std::numbers::pi;
  {
    const double f0 = 1681.974450955533, gain = 3.999843853973347, q = 0.7071752369554196;
    const double k = std::tan(pi * f0 / rate);
    const double vh = std::pow(10.0, gain / 20.0);
    const double vb = std::pow(vh, 0.4996667741545416);
    const double a0 = 1.0 + k / q + k * k;
    *shelf = {(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
              2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0};
  }
  {
    const double f0 = 38.13547087602444, q = 0.5003270373238773;
    const double k = std::tan(pi * f0 / rate);
    const double a0 = 1.0 + k / q + k * k;
    *highpass = {1.0, -2.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0};
  }
}

// Interpolation filter for the true peak: a Kaiser-windowed sinc, split in
// kPhases phases, each normalized to unity gain at DC.
std::vector<double> oversampling_taps() {
  const int n = kPhases * kTapsPerPhase;
  std::vector<double> h(static_cast<size_t>(n));
  const double beta = 6.0;
  auto bessel_i0 = [](double x) {
    double sum = 1, term = 1;
    for (int k = 1; k < 30; ++k) {
      term *= (x / (2 * k)) * (x / (2 * k));
      sum += term;
    }
    return sum;
  };
  for (int i = 0; i < n; ++i) {
    const double t = (i - (n - 1) / 2.0) / kPhases;
    const double sinc = t == 0 ? 1.0 : std::sin(std::numbers::pi * t) / (std::numbers::pi * t);
    const double r = 2.0 * i / (n - 1) - 1.0;
    h[static_cast<size_t>(i)] = sinc * bessel_i0(beta * std::sqrt(std::max(0.0, 1 - r * r))) / bessel_i0(beta);
  }
  std::vector<double> poly(static_cast<size_t>(n));  // [phase][tap]
  for (int p = 0; p < kPhases; ++p) {
    double sum = 0;
    for (int k = 0; k < kTapsPerPhase; ++k) sum += h[static_cast<size_t>(p + kPhases * k)];
    for (int k = 0; k < kTapsPerPhase; ++k) {
      poly[static_cast<size_t>(p * kTapsPerPhase + k)] = h[static_cast<size_t>(p + kPhases * k)] / sum;
    }
  }
  return poly;
}

}  // namespace

struct LoudnessMeter::Impl {
  int rate = 48000;
  int channels = 1;
  std::vector<double> weights;
  Biquad shelf{}, highpass{};
  std::vector<double> state;  // per channel: shelf x1 x2 y1 y2, highpass x1 x2 y1 y2
  std::vector<double> taps = oversampling_taps();
  std::vector<float> history;  // per channel: the last kTapsPerPhase samples (ring)
  size_t history_pos = 0;
  size_t sub_length = 4800;      // samples per 100 ms
  size_t sub_filled = 0;
  std::vector<double> sub_sum;   // per channel, current 100 ms
  std::vector<double> sub_energy;  // weighted mean square of each complete 100 ms
  double true_peak = 0, sample_peak = 0;
  size_t frames = 0;
};

LoudnessMeter::LoudnessMeter(int rate, std::vector<double> weights) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.rate = rate;
  m.channels = static_cast<int>(weights.size());
  m.weights = std::move(weights);
  k_weighting(rate, &m.shelf, &m.highpass);
  m.state.assign(static_cast<size_t>(m.channels) * 8, 0.0);
  m.history.assign(static_cast<size_t>(m.channels) * kTapsPerPhase, 0.0f);
  m.sub_length = static_cast<size_t>(std::lround(rate / 10.0));
  m.sub_sum.assign(static_cast<size_t>(m.channels), 0.0);
}

LoudnessMeter::~LoudnessMeter() = default;

void LoudnessMeter::add(const float* in, size_t frames) {
  Impl& m = *impl_;
  const auto nch = static_cast<size_t>(m.channels);
  for (size_t f = 0; f < frames; ++f) {
    m.history_pos = (m.history_pos + 1) % kTapsPerPhase;
    for (size_t c = 0; c < nch; ++c) {
      const float x = in[f * nch + c];
      m.sample_peak = std::max(m.sample_peak, static_cast<double>(std::fabs(x)));
      float* hist = &m.history[c * kTapsPerPhase];
      hist[m.history_pos] = x;
      for (int p = 0; p < kPhases; ++p) {
        const double* t = &m.taps[static_cast<size_t>(p * kTapsPerPhase)];
        double y = 0;
        size_t idx = m.history_pos;
        for (int k = 0; k < kTapsPerPhase; ++k) {
          y += t[k] * hist[idx];
          idx = idx == 0 ? kTapsPerPhase - 1 : idx - 1;
        }
        m.true_peak = std::max(m.true_peak, std::fabs(y));
      }
      double* s = &m.state[c * 8];
      const double y2 = m.highpass.step(m.shelf.step(x, s), s + 4);
      m.sub_sum[c] += y2 * y2;
    }
    if (++m.sub_filled == m.sub_length) {
      double e = 0;
      for (size_t c = 0; c < nch; ++c) {
        e += m.weights[c] * m.sub_sum[c] / static_cast<double>(m.sub_length);
        m.sub_sum[c] = 0;
      }
      m.sub_energy.push_back(e);
      m.sub_filled = 0;
    }
  }
  m.frames += frames;
}

Loudness LoudnessMeter::result() const {
  const Impl& m = *impl_;
  Loudness out;
  out.duration = static_cast<double>(m.frames) / m.rate;
  out.true_peak = to_db(std::max(m.true_peak, m.sample_peak));
  out.sample_peak = to_db(m.sample_peak);
  const std::vector<double>& sub = m.sub_energy;
  auto windows = [&](size_t span) {
    std::vector<double> e;
    for (size_t i = 0; i + span <= sub.size(); ++i) {
      double sum = 0;
      for (size_t j = 0; j < span; ++j) sum += sub[i + j];
      e.push_back(sum / static_cast<double>(span));
    }
    return e;
  };
  // Integrated: 400 ms blocks, 75 % overlap, gated twice.
  std::vector<double> blocks = windows(4);
  const double abs_energy = lufs_to_energy(kAbsoluteGate);
  double sum = 0;
  size_t n = 0;
  for (double e : blocks) {
    if (e > abs_energy) sum += e, ++n;
  }
  if (n > 0) {
    const double relative = lufs_to_energy(energy_to_lufs(sum / static_cast<double>(n)) - 10.0);
    double gated = 0;
    size_t kept = 0;
    for (double e : blocks) {
      if (e > abs_energy && e > relative) gated += e, ++kept;
    }
    if (kept > 0) out.integrated = energy_to_lufs(gated / static_cast<double>(kept));
  }
  // Range: 3 s short-term windows every 100 ms.
  std::vector<double> shorts = windows(30);
  std::vector<double> passed;
  double ssum = 0;
  for (double e : shorts) {
    if (e > abs_energy) passed.push_back(e), ssum += e;
  }
  if (!passed.empty()) {
    const double relative = lufs_to_energy(energy_to_lufs(ssum / static_cast<double>(passed.size())) - 20.0);
    std::vector<double> l;
    for (double e : passed) {
      if (e > relative) l.push_back(energy_to_lufs(e));
    }
    if (l.size() > 1) {
      std::sort(l.begin(), l.end());
      auto at = [&](double q) { return l[static_cast<size_t>(std::lround(q * static_cast<double>(l.size() - 1)))]; };
      out.range = at(0.95) - at(0.10);
    }
  }
  return out;
}

std::vector<double> channel_weights(int channels, unsigned long long mask) {
  std::vector<double> w(static_cast<size_t>(std::max(channels, 0)), 1.0);
  if (mask != 0) {
    int c = 0;
    for (int bit = 0; bit < 64 && c < channels; ++bit) {
      if (!(mask & (1ull << bit))) continue;
      const unsigned long long b = 1ull << bit;
      if (b == AV_CH_LOW_FREQUENCY || b == AV_CH_LOW_FREQUENCY_2) {
        w[static_cast<size_t>(c)] = 0.0;
      } else if (b == AV_CH_SIDE_LEFT || b == AV_CH_SIDE_RIGHT || b == AV_CH_BACK_LEFT || b == AV_CH_BACK_RIGHT) {
        w[static_cast<size_t>(c)] = 1.41;
      }
      ++c;
    }
  } else if (channels == 6) {
    w = {1.0, 1.0, 1.0, 0.0, 1.41, 1.41};
  }
  return w;
}

GainPlan plan_gain(const Loudness& before, const NormalizeOptions& options, double margin) {
  GainPlan plan;
  plan.gain_db = options.target - before.integrated;
  plan.ceiling_db = options.true_peak - margin;
  plan.limit = before.true_peak + plan.gain_db > plan.ceiling_db;
  return plan;
}

// ---------------------------------------------------------------------------
// The limiter: gain is the minimum of what each sample needs over a window
// one look-ahead long (plus release), then a moving average over the
// look-ahead; the signal is delayed by the look-ahead. Every output sample's
// gain is an average of values each at most what that sample needed, so no
// sample exceeds the ceiling, and gain changes are ramps, not steps.

struct PeakLimiter::Impl {
  int channels = 1;
  double ceiling = 1;
  size_t lookahead = 240;
  double release_step = 0;
  std::deque<std::pair<size_t, double>> minq;  // (frame, needed gain), increasing gains
  std::deque<float> delay;                      // lookahead frames of samples
  std::deque<double> avg_window;
  double avg_sum = 0;
  double released = 1.0;
  size_t frame = 0;
};

PeakLimiter::PeakLimiter(int rate, int channels, double ceiling, double lookahead, double release)
    : impl_(std::make_unique<Impl>()) {
  impl_->channels = channels;
  impl_->ceiling = ceiling;
  impl_->lookahead = std::max<size_t>(1, static_cast<size_t>(std::lround(lookahead * rate)));
  impl_->release_step = 1.0 / std::max(1.0, release * rate);
  for (size_t i = 0; i < impl_->lookahead; ++i) impl_->avg_window.push_back(1.0);
  impl_->avg_sum = static_cast<double>(impl_->lookahead);
  impl_->delay.assign(impl_->lookahead * static_cast<size_t>(channels), 0.0f);
}

PeakLimiter::~PeakLimiter() = default;
size_t PeakLimiter::latency() const { return impl_->lookahead; }

void PeakLimiter::process(const float* in, size_t frames, std::vector<float>* out) {
  Impl& m = *impl_;
  const auto nch = static_cast<size_t>(m.channels);
  for (size_t f = 0; f < frames; ++f) {
    float peak = 0;
    for (size_t c = 0; c < nch; ++c) peak = std::max(peak, std::fabs(in[f * nch + c]));
    const double need = peak > m.ceiling ? m.ceiling / peak : 1.0;
    while (!m.minq.empty() && m.minq.back().second >= need) m.minq.pop_back();
    m.minq.emplace_back(m.frame, need);
    while (m.minq.front().first + m.lookahead < m.frame) m.minq.pop_front();
    const double window_min = m.minq.front().second;
    m.released = std::min(window_min, m.released + m.release_step);
    m.avg_sum += m.released - m.avg_window.front();
    m.avg_window.pop_front();
    m.avg_window.push_back(m.released);
    const double gain = std::min(1.0, m.avg_sum / static_cast<double>(m.lookahead));
    for (size_t c = 0; c < nch; ++c) {
      out->push_back(static_cast<float>(m.delay.front() * gain));
      m.delay.pop_front();
      m.delay.push_back(in[f * nch + c]);
    }
    ++m.frame;
  }
}

void PeakLimiter::flush(std::vector<float>* out) {
  std::vector<float> silence(impl_->lookahead * static_cast<size_t>(impl_->channels), 0.0f);
  process(silence.data(), impl_->lookahead, out);
}

// ---------------------------------------------------------------------------
// Files.

namespace {

// One audio stream being decoded to interleaved float at its own rate and
// layout.
struct AudioDecode {
  int index = -1;
  CodecContextPtr dec;
  SwrPtr swr;
  AVChannelLayout layout{};
  int rate = 0;
  std::vector<float> buf;

  ~AudioDecode() { av_channel_layout_uninit(&layout); }

  Status open(AVFormatContext* fmt, int stream_index) {
    index = stream_index;
    SF_ASSIGN_OR_RETURN(dec, open_decoder(fmt, stream_index));
    return {};
  }

  // Converts one decoded frame into `buf` (interleaved float).
  Status convert(const AVFrame* f) {
    if (!swr) {
      if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || f->ch_layout.nb_channels <= 0) {
        av_channel_layout_default(&layout, std::max(1, f->ch_layout.nb_channels));
      } else {
        av_channel_layout_copy(&layout, &f->ch_layout);
      }
      rate = f->sample_rate;
      SwrContext* raw = nullptr;
      int err = swr_alloc_set_opts2(&raw, &layout, AV_SAMPLE_FMT_FLT, rate, &layout,
                                    static_cast<AVSampleFormat>(f->format), rate, 0, nullptr);
      if (err >= 0) err = swr_init(raw);
      swr.reset(raw);
      if (err < 0) return av_status(err, "audio conversion");
    }
    buf.resize(static_cast<size_t>(f->nb_samples) * static_cast<size_t>(layout.nb_channels));
    uint8_t* outp[1] = {reinterpret_cast<uint8_t*>(buf.data())};
    const int got = swr_convert(swr.get(), outp, f->nb_samples, const_cast<const uint8_t**>(f->extended_data),
                                f->nb_samples);
    if (got < 0) return av_status(got, "audio conversion");
    buf.resize(static_cast<size_t>(got) * static_cast<size_t>(layout.nb_channels));
    return {};
  }
  int channels() const { return layout.nb_channels; }
  unsigned long long mask() const { return layout.order == AV_CHANNEL_ORDER_NATIVE ? layout.u.mask : 0; }
};

// What the decode loop does with each stream's samples.
using SamplesFn = std::function<Status(AudioDecode& d, const AVFrame* frame)>;

// Reads `path` once, decoding the audio streams in `indices` and handing
// every frame (converted) to `on_samples`; at the end each decoder is
// drained.
Status decode_audio_streams(const std::string& path, const std::vector<int>& indices, const SamplesFn& on_samples,
                            const std::atomic<bool>* cancel) {
  SF_ASSIGN_OR_RETURN(auto fmt, open_input(path));
  std::vector<std::unique_ptr<AudioDecode>> decs(fmt->nb_streams);
  for (int i : indices) {
    decs[static_cast<size_t>(i)] = std::make_unique<AudioDecode>();
    SF_RETURN_IF_ERROR(decs[static_cast<size_t>(i)]->open(fmt.get(), i));
  }
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    if (!decs[i]) fmt->streams[i]->discard = AVDISCARD_ALL;
  }
  PacketPtr pkt = make_packet();
  FramePtr frame = make_frame();
  auto drain = [&](AudioDecode& d) -> Status {
    while (true) {
      int err = avcodec_receive_frame(d.dec.get(), frame.get());
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return {};
      if (err < 0) {
        SF_LOG_WARN("{}: audio stream {}: undecodable frame skipped ({})", path, d.index, av_error_text(err));
        return {};
      }
      SF_RETURN_IF_ERROR(d.convert(frame.get()));
      Status s = on_samples(d, frame.get());
      av_frame_unref(frame.get());
      SF_RETURN_IF_ERROR(s);
    }
  };
  while (true) {
    if (stop_requested(cancel)) return {Code::kCancelled, path + ": cancelled"};
    int err = av_read_frame(fmt.get(), pkt.get());
    if (err == AVERROR_EOF) break;
    if (err < 0) return av_status(err, path + ": reading");
    AudioDecode* d = pkt->stream_index < static_cast<int>(decs.size()) ? decs[static_cast<size_t>(pkt->stream_index)].get()
                                                                         : nullptr;
    if (d) {
      if (avcodec_send_packet(d->dec.get(), pkt.get()) < 0) {
        SF_LOG_WARN("{}: audio stream {}: undecodable packet skipped", path, d->index);
      }
      av_packet_unref(pkt.get());
      SF_RETURN_IF_ERROR(drain(*d));
    } else {
      av_packet_unref(pkt.get());
    }
  }
  for (auto& d : decs) {
    if (!d) continue;
    avcodec_send_packet(d->dec.get(), nullptr);
    SF_RETURN_IF_ERROR(drain(*d));
  }
  return {};
}

std::vector<int> audio_streams(AVFormatContext* fmt) {
  std::vector<int> out;
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    const AVStream* st = fmt->streams[i];
    if (st->codecpar->codec_type == AVMEDIA_TYPE_AUDIO && !(st->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
      out.push_back(static_cast<int>(i));
    }
  }
  return out;
}

// Measures each of `indices` in one read of `path`, each with its own gain
// and (optional) limiter applied first.
struct Simulation {
  double gain_db = 0;
  bool limit = false;
  double ceiling_db = 0;
};

Result<std::vector<Loudness>> measure_streams(const std::string& path, const std::vector<int>& indices,
                                              const std::vector<Simulation>& sims, const std::atomic<bool>* cancel) {
  struct State {
    std::unique_ptr<LoudnessMeter> meter;
    std::unique_ptr<PeakLimiter> limiter;
    std::vector<float> work, limited;
  };
  std::vector<State> states(indices.size());
  auto slot = [&](int index) {
    return static_cast<size_t>(std::find(indices.begin(), indices.end(), index) - indices.begin());
  };
  Status st = decode_audio_streams(
      path, indices,
      [&](AudioDecode& d, const AVFrame*) -> Status {
        const size_t k = slot(d.index);
        State& s = states[k];
        if (!s.meter) {
          s.meter = std::make_unique<LoudnessMeter>(d.rate, channel_weights(d.channels(), d.mask()));
          if (!sims.empty() && sims[k].limit) {
            s.limiter = std::make_unique<PeakLimiter>(d.rate, d.channels(), std::pow(10.0, sims[k].ceiling_db / 20));
          }
        }
        const size_t frames = d.buf.size() / static_cast<size_t>(d.channels());
        if (sims.empty() || (sims[k].gain_db == 0 && !sims[k].limit)) {
          s.meter->add(d.buf.data(), frames);
          return {};
        }
        const auto g = static_cast<float>(std::pow(10.0, sims[k].gain_db / 20));
        s.work.assign(d.buf.begin(), d.buf.end());
        for (float& x : s.work) x *= g;
        if (!s.limiter) {
          s.meter->add(s.work.data(), frames);
          return {};
        }
        s.limited.clear();
        s.limiter->process(s.work.data(), frames, &s.limited);
        s.meter->add(s.limited.data(), s.limited.size() / static_cast<size_t>(d.channels()));
        return {};
      },
      cancel);
  if (!st.ok()) return st;
  std::vector<Loudness> out;
  for (State& s : states) {
    if (s.limiter) {
      s.limited.clear();
      s.limiter->flush(&s.limited);
      // The flush's first look-ahead frames are the delayed tail.
      if (s.meter) s.meter->add(s.limited.data(), s.limiter->latency());
    }
    out.push_back(s.meter ? s.meter->result() : Loudness{});
  }
  return out;
}

}  // namespace

Result<Loudness> measure_loudness(const std::string& path, int stream_index, const std::atomic<bool>* cancel) {
  int index = stream_index;
  {
    SF_ASSIGN_OR_RETURN(auto fmt, open_input(path));
    if (index < 0) {
      index = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
      if (index < 0) return Status(Code::kBadMedia, path + ": has no audio stream");
    } else if (index >= static_cast<int>(fmt->nb_streams) ||
               fmt->streams[index]->codecpar->codec_type != AVMEDIA_TYPE_AUDIO) {
      return Status(Code::kBadMedia, path + ": stream " + std::to_string(index) + " is not audio");
    }
  }
  SF_ASSIGN_OR_RETURN(auto v, measure_streams(path, {index}, {}, cancel));
  return v.front();
}

// ---------------------------------------------------------------------------
// The write pass.

namespace {

bool lossless(AVCodecID id) {
  const AVCodecDescriptor* d = avcodec_descriptor_get(id);
  return d && (d->props & AV_CODEC_PROP_LOSSLESS) && !(d->props & AV_CODEC_PROP_LOSSY);
}

// The encoder for a corrected stream: the source's codec where libav has
// an encoder for it and the container takes it, else AAC (or FLAC / PCM
// for containers without AAC).
const AVCodec* pick_encoder(AVCodecID source, const AVOutputFormat* ofmt) {
  auto usable = [&](const AVCodec* c) {
    return c && !(c->capabilities & AV_CODEC_CAP_EXPERIMENTAL) &&
           avformat_query_codec(ofmt, c->id, FF_COMPLIANCE_NORMAL) == 1;
  };
  const AVCodec* same = nullptr;
  switch (source) {
    case AV_CODEC_ID_MP3: same = avcodec_find_encoder_by_name("libmp3lame"); break;
    case AV_CODEC_ID_OPUS: same = avcodec_find_encoder_by_name("libopus"); break;
    case AV_CODEC_ID_VORBIS: same = avcodec_find_encoder_by_name("libvorbis"); break;
    default: same = avcodec_find_encoder(source); break;
  }
  if (usable(same)) return same;
  for (AVCodecID id : {AV_CODEC_ID_AAC, AV_CODEC_ID_FLAC, AV_CODEC_ID_PCM_S16LE}) {
    const AVCodec* c = avcodec_find_encoder(id);
    if (usable(c)) return c;
  }
  return nullptr;
}

struct OutAudio {
  int in_index = -1;
  AVStream* st = nullptr;
  CodecContextPtr enc;
  SwrPtr to_enc;
  AudioFifoPtr fifo;
  float gain = 1;
  std::unique_ptr<PeakLimiter> limiter;
  std::vector<float> work, limited;
  int64_t next_pts = AV_NOPTS_VALUE;  // in samples (encoder time base)
  int channels = 0;
};

}  // namespace

// Limiting lowers the loudness: measure the limited sound and make up the
// difference (the limiter keeps its ceiling), a few rounds at most.
Status make_up_limiting(const std::string& source, const std::vector<int>& audio, const NormalizeOptions& options,
                        std::vector<Simulation>* plan) {
  for (int round = 0; round < 3; ++round) {
    if (std::none_of(plan->begin(), plan->end(), [](const Simulation& s) { return s.limit; })) return {};
    SF_ASSIGN_OR_RETURN(auto sim, measure_streams(source, audio, *plan, options.cancel));
    bool close = true;
    for (size_t k = 0; k < audio.size(); ++k) {
      if (!(*plan)[k].limit || !sim[k].measurable()) continue;
      const double miss = options.target - sim[k].integrated;
      (*plan)[k].gain_db += miss;
      close = close && std::fabs(miss) < 0.15;
    }
    if (close) return {};
  }
  return {};
}

// The write pass: `plan[k]` for audio stream audio[k], corrected with
// encoders[k] (null: copied).
Status write_normalized(const std::string& source, const std::string& output, const AVOutputFormat* ofmt,
                        const std::vector<int>& audio, const std::vector<const AVCodec*>& encoders,
                        const std::vector<Simulation>& plan, const NormalizeOptions& options, std::vector<int>* map_out) {
  SF_RETURN_IF_ERROR(check_output_path(output));
  const std::string tmp = temporary_name_for(output);
  auto fail = [&](Status s) {
    discard_temporary(tmp);
    return s;
  };
  auto in = open_input(source);
  if (!in.ok()) return fail(in.status());
  AVFormatContext* ifmt = in->get();
  AVFormatContext* raw_out = nullptr;
  int err = avformat_alloc_output_context2(&raw_out, ofmt, nullptr, tmp.c_str());
  if (err < 0) return fail(av_status(err, output));
  OutputFormatPtr out(raw_out);
  av_dict_copy(&out->metadata, ifmt->metadata, 0);

  std::vector<int> map(ifmt->nb_streams, -1);
  std::vector<std::unique_ptr<OutAudio>> outs(ifmt->nb_streams);
  std::vector<std::unique_ptr<AudioDecode>> decs(ifmt->nb_streams);
  for (unsigned i = 0; i < ifmt->nb_streams; ++i) {
    AVStream* ist = ifmt->streams[i];
    const auto k = static_cast<size_t>(std::find(audio.begin(), audio.end(), static_cast<int>(i)) - audio.begin());
    const bool corrected = k < audio.size() && encoders[k] != nullptr;
    if (!corrected && avformat_query_codec(out->oformat, ist->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1) {
      if (ist->codecpar->codec_type != AVMEDIA_TYPE_DATA) {
        SF_LOG_WARN("{}: stream {} ({}) cannot be written to {}: left out", source, i,
                    avcodec_get_name(ist->codecpar->codec_id), output);
      }
      continue;
    }
    AVStream* ost = avformat_new_stream(out.get(), nullptr);
    if (!ost) return fail(Status(Code::kInternal, "out of memory"));
    map[i] = ost->index;
    av_dict_copy(&ost->metadata, ist->metadata, 0);
    ost->disposition = ist->disposition;
    for (int s = 0; s < ist->nb_side_data; ++s) {
      const AVPacketSideData& sd = ist->side_data[s];
      uint8_t* dst = av_stream_new_side_data(ost, sd.type, sd.size);
      if (dst) std::memcpy(dst, sd.data, sd.size);
    }
    if (!corrected) {
      if ((err = avcodec_parameters_copy(ost->codecpar, ist->codecpar)) < 0) return fail(av_status(err, output));
      ost->codecpar->codec_tag = 0;
      ost->time_base = ist->time_base;
      ost->avg_frame_rate = ist->avg_frame_rate;
      ost->r_frame_rate = ist->r_frame_rate;
      continue;
    }
    auto d = std::make_unique<AudioDecode>();
    if (Status s = d->open(ifmt, static_cast<int>(i)); !s.ok()) return fail(s);
    auto o = std::make_unique<OutAudio>();
    o->in_index = static_cast<int>(i);
    o->st = ost;
    o->gain = static_cast<float>(std::pow(10.0, plan[k].gain_db / 20));
    AVCodecContext* dec = d->dec.get();
    AVCodecContext* enc = avcodec_alloc_context3(encoders[k]);
    o->enc.reset(enc);
    enc->sample_rate = dec->sample_rate;
    if (dec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
      av_channel_layout_default(&enc->ch_layout, dec->ch_layout.nb_channels);
    } else {
      av_channel_layout_copy(&enc->ch_layout, &dec->ch_layout);
    }
    enc->sample_fmt = encoders[k]->sample_fmts ? encoders[k]->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
    if (encoders[k]->sample_fmts) {
      for (const AVSampleFormat* f = encoders[k]->sample_fmts; *f != AV_SAMPLE_FMT_NONE; ++f) {
        if (*f == AV_SAMPLE_FMT_FLTP || *f == AV_SAMPLE_FMT_FLT) {
          enc->sample_fmt = *f;
          break;
        }
      }
    }
    const int64_t per_channel = 96000;
    enc->bit_rate = ist->codecpar->bit_rate > 0 ? ist->codecpar->bit_rate
                                                : per_channel * std::min(enc->ch_layout.nb_channels, 2);
    enc->time_base = AVRational{1, enc->sample_rate};
    if (out->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if ((err = avcodec_open2(enc, encoders[k], nullptr)) < 0) {
      return fail(av_status(err, output + ": opening the " + std::string(encoders[k]->name) + " encoder"));
    }
    if ((err = avcodec_parameters_from_context(ost->codecpar, enc)) < 0) return fail(av_status(err, output));
    ost->time_base = enc->time_base;
    o->channels = enc->ch_layout.nb_channels;
    SwrContext* sw = nullptr;
    err = swr_alloc_set_opts2(&sw, &enc->ch_layout, enc->sample_fmt, enc->sample_rate, &enc->ch_layout,
                              AV_SAMPLE_FMT_FLT, enc->sample_rate, 0, nullptr);
    if (err >= 0) err = swr_init(sw);
    o->to_enc.reset(sw);
    if (err < 0) return fail(av_status(err, "audio conversion"));
    o->fifo.reset(av_audio_fifo_alloc(enc->sample_fmt, o->channels, 4096));
    if (plan[k].limit) {
      o->limiter = std::make_unique<PeakLimiter>(enc->sample_rate, o->channels, std::pow(10.0, plan[k].ceiling_db / 20));
    }
    decs[i] = std::move(d);
    outs[i] = std::move(o);
  }
  if (!(out->oformat->flags & AVFMT_NOFILE)) {
    if ((err = avio_open(&out->pb, tmp.c_str(), AVIO_FLAG_WRITE)) < 0) return fail(av_status(err, output));
  }
  if ((err = avformat_write_header(out.get(), nullptr)) < 0) return fail(av_status(err, output + ": writing"));

  PacketPtr pkt = make_packet();
  PacketPtr opkt = make_packet();
  FramePtr frame = make_frame();
  FramePtr eframe = make_frame();

  auto write_encoded = [&](OutAudio& o) -> Status {
    while (true) {
      int e = avcodec_receive_packet(o.enc.get(), opkt.get());
      if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) return {};
      if (e < 0) return av_status(e, output + ": encoding audio");
      opkt->stream_index = o.st->index;
      av_packet_rescale_ts(opkt.get(), o.enc->time_base, o.st->time_base);
      if ((e = av_interleaved_write_frame(out.get(), opkt.get())) < 0) return av_status(e, output + ": writing");
    }
  };
  // Moves whole encoder frames from the FIFO to the encoder (`last`: the
  // remainder too).
  auto encode_fifo = [&](OutAudio& o, bool last) -> Status {
    const int fs = o.enc->frame_size > 0 ? o.enc->frame_size : 1024;
    while (av_audio_fifo_size(o.fifo.get()) >= fs || (last && av_audio_fifo_size(o.fifo.get()) > 0)) {
      const int n = std::min(fs, av_audio_fifo_size(o.fifo.get()));
      av_frame_unref(eframe.get());
      eframe->nb_samples = n;
      eframe->format = o.enc->sample_fmt;
      eframe->sample_rate = o.enc->sample_rate;
      av_channel_layout_copy(&eframe->ch_layout, &o.enc->ch_layout);
      int e = av_frame_get_buffer(eframe.get(), 0);
      if (e < 0) return av_status(e, "audio frame");
      av_audio_fifo_read(o.fifo.get(), reinterpret_cast<void**>(eframe->data), n);
      eframe->pts = o.next_pts;
      o.next_pts += n;
      if ((e = avcodec_send_frame(o.enc.get(), eframe.get())) < 0) return av_status(e, output + ": encoding audio");
      SF_RETURN_IF_ERROR(write_encoded(o));
    }
    return {};
  };
  auto push = [&](OutAudio& o, const float* samples, size_t frames) -> Status {
    if (frames == 0) return {};
    std::vector<uint8_t*> planes(static_cast<size_t>(o.channels));
    const int count = static_cast<int>(frames);
    uint8_t** conv = nullptr;
    int e = av_samples_alloc_array_and_samples(&conv, nullptr, o.channels, count, o.enc->sample_fmt, 0);
    if (e < 0) return av_status(e, "audio buffer");
    const uint8_t* src[1] = {reinterpret_cast<const uint8_t*>(samples)};
    e = swr_convert(o.to_enc.get(), conv, count, src, count);
    if (e >= 0) av_audio_fifo_write(o.fifo.get(), reinterpret_cast<void**>(conv), e);
    av_freep(&conv[0]);
    av_freep(&conv);
    if (e < 0) return av_status(e, "audio conversion");
    return encode_fifo(o, false);
  };
  auto process_frame = [&](AudioDecode& d, OutAudio& o, const AVFrame* f) -> Status {
    if (o.next_pts == AV_NOPTS_VALUE) {
      const int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : 0;
      o.next_pts = av_rescale_q(ts, ifmt->streams[d.index]->time_base, o.enc->time_base);
    }
    SF_RETURN_IF_ERROR(d.convert(f));
    o.work.assign(d.buf.begin(), d.buf.end());
    for (float& x : o.work) x *= o.gain;
    const size_t frames = o.work.size() / static_cast<size_t>(o.channels);
    if (!o.limiter) return push(o, o.work.data(), frames);
    o.limited.clear();
    o.limiter->process(o.work.data(), frames, &o.limited);
    return push(o, o.limited.data(), o.limited.size() / static_cast<size_t>(o.channels));
  };
  auto drain_decoder = [&](AudioDecode& d, OutAudio& o) -> Status {
    while (true) {
      int e = avcodec_receive_frame(d.dec.get(), frame.get());
      if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) return {};
      if (e < 0) {
        SF_LOG_WARN("{}: audio stream {}: undecodable frame skipped", source, d.index);
        return {};
      }
      Status s = process_frame(d, o, frame.get());
      av_frame_unref(frame.get());
      SF_RETURN_IF_ERROR(s);
    }
  };

  while (true) {
    if (stop_requested(options.cancel)) return fail(Status(Code::kCancelled, source + ": cancelled"));
    err = av_read_frame(ifmt, pkt.get());
    if (err == AVERROR_EOF) break;
    if (err < 0) return fail(av_status(err, source + ": reading"));
    const auto si = static_cast<size_t>(pkt->stream_index);
    if (si >= map.size() || map[si] < 0) {
      av_packet_unref(pkt.get());
      continue;
    }
    if (outs[si]) {
      if (avcodec_send_packet(decs[si]->dec.get(), pkt.get()) < 0) {
        SF_LOG_WARN("{}: audio stream {}: undecodable packet skipped", source, si);
      }
      av_packet_unref(pkt.get());
      if (Status s = drain_decoder(*decs[si], *outs[si]); !s.ok()) return fail(s);
      continue;
    }
    AVStream* ost = out->streams[map[si]];
    av_packet_rescale_ts(pkt.get(), ifmt->streams[si]->time_base, ost->time_base);
    pkt->stream_index = ost->index;
    pkt->pos = -1;
    if ((err = av_interleaved_write_frame(out.get(), pkt.get())) < 0) return fail(av_status(err, output + ": writing"));
  }
  for (size_t i = 0; i < outs.size(); ++i) {
    if (!outs[i]) continue;
    OutAudio& o = *outs[i];
    avcodec_send_packet(decs[i]->dec.get(), nullptr);
    if (Status s = drain_decoder(*decs[i], o); !s.ok()) return fail(s);
    if (o.limiter) {
      o.limited.clear();
      o.limiter->flush(&o.limited);
      // The flush ends with the look-ahead's worth of silence: keep only the
      // delayed tail of the real samples.
      const size_t keep = o.limiter->latency() * static_cast<size_t>(o.channels);
      o.limited.resize(std::min(o.limited.size(), keep));
      if (Status s = push(o, o.limited.data(), o.limited.size() / static_cast<size_t>(o.channels)); !s.ok()) {
        return fail(s);
      }
    }
    if (o.next_pts == AV_NOPTS_VALUE) o.next_pts = 0;
    if (Status s = encode_fifo(o, true); !s.ok()) return fail(s);
    avcodec_send_frame(o.enc.get(), nullptr);
    if (Status s = write_encoded(o); !s.ok()) return fail(s);
  }
  if ((err = av_write_trailer(out.get())) < 0) return fail(av_status(err, output + ": writing"));
  out.reset();
  SF_RETURN_IF_ERROR(commit_file(tmp, output));

  *map_out = map;
  return {};
}

std::string normalized_extension(const std::string& source) {
  const size_t slash = source.find_last_of('/');
  const size_t dot = source.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash) || dot + 1 == source.size()) {
    return ".mkv";
  }
  const std::string ext = source.substr(dot);
  return av_guess_format(nullptr, ("x" + ext).c_str(), nullptr) != nullptr ? ext : ".mkv";
}

Result<NormalizeResult> normalize_loudness(const std::string& source, const std::string& output,
                                           const NormalizeOptions& options) {
  NormalizeResult result;
  std::vector<int> audio;
  std::vector<AVCodecID> source_codecs;
  {
    SF_ASSIGN_OR_RETURN(auto fmt, open_input(source));
    audio = audio_streams(fmt.get());
    if (audio.empty()) return Status(Code::kBadMedia, source + ": has no audio stream");
    for (int i : audio) source_codecs.push_back(fmt->streams[i]->codecpar->codec_id);
  }
  SF_ASSIGN_OR_RETURN(auto before, measure_streams(source, audio, {}, options.cancel));

  // The output's format and codecs decide the headroom.
  const AVOutputFormat* ofmt = av_guess_format(nullptr, output.c_str(), nullptr);
  if (!ofmt) return Status(Code::kOutput, output + ": no container format for this file name");

  std::vector<Simulation> plan(audio.size());
  std::vector<const AVCodec*> encoders(audio.size(), nullptr);
  {
    for (size_t k = 0; k < audio.size(); ++k) {
      NormalizedStream ns;
      ns.index = audio[k];
      ns.before = before[k];
      const AVCodecID src_codec = source_codecs[k];
      ns.codec = avcodec_get_name(src_codec);
      if (!before[k].measurable()) {
        ns.note = before[k].duration < 0.4 ? "too short to measure" : "silent";
      } else if (before[k].integrated < options.quietest) {
        ns.note = "too quiet (" + std::to_string(static_cast<int>(std::lround(before[k].integrated))) +
                  " LUFS): left as it is, not amplified";
      } else {
        encoders[k] = pick_encoder(src_codec, ofmt);
        if (!encoders[k]) return Status(Code::kUnsupported, output + ": no audio encoder for this container");
        const double margin = lossless(encoders[k]->id) ? 0.2 : 1.0;
        GainPlan g = plan_gain(before[k], options, margin);
        plan[k] = {g.gain_db, g.limit, g.ceiling_db};
        ns.gain_db = g.gain_db;
        ns.limited = g.limit;
        ns.codec = encoders[k]->name;
      }
      result.streams.push_back(ns);
    }
  }
  SF_RETURN_IF_ERROR(make_up_limiting(source, audio, options, &plan));
  result.changed = std::any_of(encoders.begin(), encoders.end(), [](const AVCodec* c) { return c != nullptr; });

  // Write, measure what was written, and where lossy coding pushed a true
  // peak over the ceiling, lower that limiter's ceiling by the overshoot
  // and write again.
  std::vector<int> map;
  for (int attempt = 0;; ++attempt) {
    SF_RETURN_IF_ERROR(write_normalized(source, output, ofmt, audio, encoders, plan, options, &map));
    std::vector<int> written;
    for (const NormalizedStream& ns : result.streams) {
      if (map[static_cast<size_t>(ns.index)] >= 0) written.push_back(map[static_cast<size_t>(ns.index)]);
    }
    auto after = measure_streams(output, written, {}, options.cancel);
    if (!after.ok()) {
      SF_LOG_WARN("{}: could not measure the written file: {}", output, after.status().message());
      break;
    }
    size_t w = 0;
    bool over = false;
    for (size_t k = 0; k < result.streams.size(); ++k) {
      NormalizedStream& ns = result.streams[k];
      if (map[static_cast<size_t>(ns.index)] < 0) continue;
      ns.after = (*after)[w++];
      if (encoders[k] && ns.after.true_peak > options.true_peak && attempt < 2) {
        over = true;
        plan[k].ceiling_db = std::min(plan[k].ceiling_db, options.true_peak) - (ns.after.true_peak - options.true_peak) - 0.3;
        plan[k].limit = true;
      }
    }
    if (!over) break;
    SF_LOG_DEBUG("{}: true peak over the ceiling after coding; writing again with more headroom", output);
    SF_RETURN_IF_ERROR(make_up_limiting(source, audio, options, &plan));
  }
  for (size_t k = 0; k < result.streams.size(); ++k) {
    if (!encoders[k]) continue;
    result.streams[k].gain_db = plan[k].gain_db;
    result.streams[k].limited = plan[k].limit;
    const Loudness& a = result.streams[k].after;
    if (a.measurable() && std::fabs(a.integrated - options.target) > 0.5) {
      char b[160];
      std::snprintf(b, sizeof b, "the target is out of reach under the %.1f dBTP ceiling: %.1f LUFS reached",
                    options.true_peak, a.integrated);
      result.streams[k].note = b;
    }
  }
  return result;
}

}  // namespace sf::media
