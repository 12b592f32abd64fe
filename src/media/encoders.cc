// Implements both media/encoder_ladder.h and media/encoders.h: the ladder
// probes candidates by opening real sessions with the same code the
// renderer runs.
#include "media/encoders.h"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <utility>

#include "core/log.h"

namespace sf::media {
namespace {

struct Rung {
  EncoderChoice choice;
  // Private options handed to avcodec_open2.
  std::vector<std::pair<const char*, const char*>> options;
};

const std::vector<Rung>& rungs() {
  static const std::vector<Rung> kRungs = {
      // NVENC's default rate control is a fixed 2 Mb/s whatever the size;
      // constant-quality VBR keeps it comparable with libx264's crf 23.
      {{"h264_nvenc", "p4", "nvenc"}, {{"preset", "p4"}, {"rc", "vbr"}, {"cq", "23"}}},
      {{"h264_qsv", "medium", "qsv"}, {{"preset", "medium"}}},
      {{"h264_vaapi", "", "vaapi"}, {}},
      {{"h264_amf", "balanced", "amf"}, {{"quality", "balanced"}}},
      {{"libx264", "fast", "cpu"}, {{"preset", "fast"}, {"crf", "23"}}},
  };
  return kRungs;
}

// Editing codecs for proxies (not on the ladder: software only, MOV).
const std::vector<Rung>& edit_codecs() {
  static const std::vector<Rung> kEdit = {
      {{"prores_ks", "proxy", "cpu"}, {{"profile", "proxy"}}},
      {{"dnxhd", "dnxhr_lb", "cpu"}, {{"profile", "dnxhr_lb"}}},
  };
  return kEdit;
}

const Rung* find_rung(std::string_view name) {
  for (const auto* list : {&rungs(), &edit_codecs()}) {
    for (const Rung& r : *list) {
      if (r.choice.name == name) return &r;
    }
  }
  return nullptr;
}

// libva prints its informational banner on stdout, which would corrupt
// machine-readable output such as `studioflow gpu --json`. Level 1 keeps
// its errors (on stderr). Done once, before the first libva user, and
// only when the user has not chosen a level.
void quiet_libva() {
  static std::once_flag once;
  std::call_once(once, [] { ::setenv("LIBVA_MESSAGING_LEVEL", "1", 0); });
}

// An encoder or device that will not open is unavailable whatever errno
// libav picked (NVENC reports a missing driver as EPERM, which would read
// as a file permission problem). libav's logged explanation, when there is
// one, says more than the errno text, so it replaces it.
Status open_failure(int err, const std::string& what, const AvErrorCapture& capture) {
  return unavailable(what + ": " + (capture.text().empty() ? av_error_text(err) : capture.text()));
}

bool has_format(const AVCodec* codec, AVPixelFormat fmt) {
  if (codec->pix_fmts == nullptr) return false;
  for (const AVPixelFormat* p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; ++p) {
    if (*p == fmt) return true;
  }
  return false;
}

// The software format the encoder is fed in: YUV420P when it takes it (no
// conversion for the renderer's frames), else NV12, else its first
// software format.
AVPixelFormat software_input_format(const AVCodec* codec) {
  if (codec->pix_fmts == nullptr || has_format(codec, AV_PIX_FMT_YUV420P)) return AV_PIX_FMT_YUV420P;
  if (has_format(codec, AV_PIX_FMT_NV12)) return AV_PIX_FMT_NV12;
  for (const AVPixelFormat* p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; ++p) {
    const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(*p);
    if (d != nullptr && (d->flags & AV_PIX_FMT_FLAG_HWACCEL) == 0) return *p;
  }
  return AV_PIX_FMT_YUV420P;
}

// libav's VAAPI device setup explains a missing render node only at
// verbose level; this keeps the common case readable in a rejection.
bool has_render_node() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/dev/dri", ec)) {
    if (e.path().filename().string().rfind("renderD", 0) == 0) return true;
  }
  return false;
}

constexpr int kProbeWidth = 256;
constexpr int kProbeHeight = 144;

// A picture with structure (diagonal luma gradient, two chroma ramps), so
// that an encoder sees ordinary content rather than a flat field.
Result<FramePtr> make_probe_frame() {
  FramePtr f = make_frame();
  if (!f) return internal_error("cannot allocate a frame");
  f->format = AV_PIX_FMT_YUV420P;
  f->width = kProbeWidth;
  f->height = kProbeHeight;
  int err = av_frame_get_buffer(f.get(), 0);
  if (err < 0) return av_status(err, "allocating the probe frame");
  for (int y = 0; y < kProbeHeight; ++y) {
    for (int x = 0; x < kProbeWidth; ++x) {
      f->data[0][y * f->linesize[0] + x] = static_cast<uint8_t>(16 + (x + y) % 220);
    }
  }
  for (int y = 0; y < kProbeHeight / 2; ++y) {
    for (int x = 0; x < kProbeWidth / 2; ++x) {
      f->data[1][y * f->linesize[1] + x] = static_cast<uint8_t>(64 + x);
      f->data[2][y * f->linesize[2] + x] = static_cast<uint8_t>(64 + 2 * y);
    }
  }
  f->pts = 0;
  return f;
}

struct ProbeSlot {
  std::once_flag once;
  EncoderProbe probe;
};

// One slot per rung, filled on first use.
std::vector<ProbeSlot>& slots() {
  static std::vector<ProbeSlot> s(rungs().size());
  return s;
}

const EncoderProbe& probe_rung(std::size_t i) {
  ProbeSlot& slot = slots()[i];
  std::call_once(slot.once, [&slot, i] {
    const EncoderChoice& c = rungs()[i].choice;
    slot.probe.name = c.name;
    slot.probe.kind = c.kind;
    Status s = check_encoder(c);
    slot.probe.usable = s.ok();
    if (s.ok()) {
      SF_LOG_DEBUG("encoder {} usable", c.name);
    } else {
      slot.probe.reason = s.message();
      SF_LOG_INFO("encoder {} rejected: {}", c.name, slot.probe.reason);
    }
  });
  return slot.probe;
}

std::string ladder_names() {
  std::string out;
  for (const Rung& r : rungs()) {
    if (!out.empty()) out += ", ";
    out += r.choice.name;
  }
  return out;
}

}  // namespace

const std::vector<EncoderChoice>& encoder_ladder() {
  static const std::vector<EncoderChoice> kLadder = [] {
    std::vector<EncoderChoice> v;
    for (const Rung& r : rungs()) v.push_back(r.choice);
    return v;
  }();
  return kLadder;
}

const std::vector<EncoderProbe>& probe_encoders() {
  static const std::vector<EncoderProbe> kAll = [] {
    std::vector<EncoderProbe> v;
    for (std::size_t i = 0; i < rungs().size(); ++i) v.push_back(probe_rung(i));
    return v;
  }();
  return kAll;
}

Result<EncoderChoice> choose_encoder(std::string_view forced, bool cpu_only) {
  if (cpu_only && !forced.empty() && forced != "libx264") {
    return invalid_argument("--cpu and --encoder " + std::string(forced) +
                            " contradict each other (--cpu means libx264)");
  }
  std::string_view wanted = cpu_only ? std::string_view("libx264") : forced;
  if (!wanted.empty()) {
    for (std::size_t i = 0; i < rungs().size(); ++i) {
      if (rungs()[i].choice.name != wanted) continue;
      const EncoderProbe& p = probe_rung(i);
      if (!p.usable) return unavailable("encoder " + p.name + " is not usable here: " + p.reason);
      return rungs()[i].choice;
    }
    return invalid_argument("unknown encoder '" + std::string(wanted) + "' (known: " + ladder_names() + ")");
  }
  std::string reasons;
  for (std::size_t i = 0; i < rungs().size(); ++i) {
    const EncoderProbe& p = probe_rung(i);
    if (p.usable) return rungs()[i].choice;
    reasons += "; " + p.name + ": " + p.reason;
  }
  return unavailable("no usable H.264 encoder" + reasons);
}

Status check_encoder(const EncoderChoice& choice) {
  EncoderSettings settings;
  settings.width = kProbeWidth;
  settings.height = kProbeHeight;
  settings.fps = AVRational{25, 1};
  settings.threads = 1;
  SF_ASSIGN_OR_RETURN(std::unique_ptr<EncoderSession> session, EncoderSession::open(choice, settings));
  SF_ASSIGN_OR_RETURN(FramePtr frame, make_probe_frame());
  PacketPtr packet = make_packet();
  if (!packet) return internal_error("cannot allocate a packet");
  int packets = 0;
  for (const AVFrame* f : {static_cast<const AVFrame*>(frame.get()), static_cast<const AVFrame*>(nullptr)}) {
    SF_RETURN_IF_ERROR(session->send(f));
    for (;;) {
      SF_ASSIGN_OR_RETURN(bool got, session->receive(packet.get()));
      if (!got) break;
      if (packet->size > 0) ++packets;
      av_packet_unref(packet.get());
    }
  }
  if (packets == 0) return unavailable(choice.name + " opened but produced no packet for a test frame");
  return Status();
}

// ---------------------------------------------------------------------------
Result<EncoderChoice> edit_encoder(std::string_view codec) {
  const std::string_view name = codec == "prores" ? "prores_ks" : codec == "dnxhr" ? "dnxhd" : "";
  for (const Rung& r : edit_codecs()) {
    if (r.choice.name != name) continue;
    if (avcodec_find_encoder_by_name(r.choice.name.c_str()) == nullptr) {
      return unavailable("encoder " + r.choice.name + " is not built into this libavcodec");
    }
    return r.choice;
  }
  return invalid_argument("unknown editing codec '" + std::string(codec) + "' (prores or dnxhr)");
}

// EncoderSession

EncoderSession::~EncoderSession() = default;

Result<std::unique_ptr<EncoderSession>> EncoderSession::open(const EncoderChoice& choice,
                                                             const EncoderSettings& settings) {
  const std::string what = "encoder " + choice.name;
  if (settings.width <= 0 || settings.height <= 0 || settings.width % 2 != 0 || settings.height % 2 != 0) {
    return invalid_argument(what + ": frame size " + std::to_string(settings.width) + "x" +
                            std::to_string(settings.height) + " must be positive and even");
  }
  if (settings.fps.num <= 0 || settings.fps.den <= 0) {
    return invalid_argument(what + ": frame rate " + std::to_string(settings.fps.num) + "/" +
                            std::to_string(settings.fps.den) + " must be positive");
  }
  AvErrorCapture capture;
  const AVCodec* codec = avcodec_find_encoder_by_name(choice.name.c_str());
  if (codec == nullptr) {
    if (find_rung(choice.name) != nullptr) return unavailable(what + " is not built into this libavcodec");
    return invalid_argument(what + " is unknown to libavcodec");
  }
  // Decided by what the codec takes, not by the choice's label.
  const bool vaapi = has_format(codec, AV_PIX_FMT_VAAPI);
  if (vaapi || has_format(codec, AV_PIX_FMT_QSV)) quiet_libva();

  std::unique_ptr<EncoderSession> s(new EncoderSession());
  s->choice_ = choice;
  s->ctx_.reset(avcodec_alloc_context3(codec));
  if (!s->ctx_) return internal_error(what + ": cannot allocate a codec context");
  AVCodecContext* ctx = s->ctx_.get();
  ctx->width = settings.width;
  ctx->height = settings.height;
  ctx->framerate = settings.fps;
  ctx->time_base = av_inv_q(settings.fps);
  ctx->sample_aspect_ratio = AVRational{1, 1};
  ctx->thread_count = settings.threads;
  if (settings.gop_size > 0) ctx->gop_size = settings.gop_size;
  if (settings.global_header) ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

  if (vaapi) {
    // VAAPI encoders take only GPU surfaces: frames are converted to NV12
    // in memory, then uploaded into a pool of surfaces owned by the session.
    AVBufferRef* device = nullptr;
    int err = av_hwdevice_ctx_create(&device, AV_HWDEVICE_TYPE_VAAPI, nullptr, nullptr, 0);
    if (err < 0) {
      Status st = open_failure(err, what + ": cannot open a VAAPI device", capture);
      if (!has_render_node()) st = Status(st.code(), st.message() + " (no DRM render node in /dev/dri)");
      return st;
    }
    s->hw_device_.reset(device);
    s->hw_frames_.reset(av_hwframe_ctx_alloc(device));
    if (!s->hw_frames_) return internal_error(what + ": cannot allocate a VAAPI frames context");
    auto* frames = reinterpret_cast<AVHWFramesContext*>(s->hw_frames_->data);
    frames->format = AV_PIX_FMT_VAAPI;
    frames->sw_format = AV_PIX_FMT_NV12;
    frames->width = settings.width;
    frames->height = settings.height;
    frames->initial_pool_size = 20;
    err = av_hwframe_ctx_init(s->hw_frames_.get());
    if (err < 0) return open_failure(err, what + ": cannot create VAAPI surfaces", capture);
    ctx->hw_frames_ctx = av_buffer_ref(s->hw_frames_.get());
    if (ctx->hw_frames_ctx == nullptr) return internal_error(what + ": out of memory");
    ctx->pix_fmt = AV_PIX_FMT_VAAPI;
    s->input_format_ = AV_PIX_FMT_NV12;
    s->hw_frame_ = make_frame();
    if (!s->hw_frame_) return internal_error(what + ": cannot allocate a frame");
  } else {
    s->input_format_ = software_input_format(codec);
    ctx->pix_fmt = s->input_format_;
  }

  AVDictionary* opts = nullptr;
  if (const Rung* rung = find_rung(choice.name); rung != nullptr) {
    for (const auto& [k, v] : rung->options) av_dict_set(&opts, k, v, 0);
  }
  int err = avcodec_open2(ctx, codec, &opts);
  AVDictionaryEntry* left = nullptr;
  while ((left = av_dict_get(opts, "", left, AV_DICT_IGNORE_SUFFIX)) != nullptr) {
    SF_LOG_DEBUG("{}: option {}={} not recognised", what, left->key, left->value);
  }
  av_dict_free(&opts);
  if (err < 0) {
    return open_failure(err, "opening " + what + " at " + std::to_string(settings.width) + "x" +
                                 std::to_string(settings.height),
                        capture);
  }
  SF_LOG_DEBUG("opened {} ({}x{}, {}/{} fps, {})", choice.name, settings.width, settings.height, settings.fps.num,
               settings.fps.den, av_get_pix_fmt_name(ctx->pix_fmt));
  return s;
}

Status EncoderSession::convert(const AVFrame* in, const AVFrame** out) {
  const int w = ctx_->width;
  const int h = ctx_->height;
  if (in->format == input_format_ && in->width == w && in->height == h) {
    *out = in;
    return Status();
  }
  if (!converted_) {
    converted_ = make_frame();
    if (!converted_) return internal_error("encoder " + choice_.name + ": cannot allocate a frame");
    converted_->format = input_format_;
    converted_->width = w;
    converted_->height = h;
    int err = av_frame_get_buffer(converted_.get(), 0);
    if (err < 0) return av_status(err, "encoder " + choice_.name + ": allocating a conversion frame");
  }
  // The encoder may still hold a reference to the previous picture.
  int err = av_frame_make_writable(converted_.get());
  if (err < 0) return av_status(err, "encoder " + choice_.name + ": conversion frame");
  sws_.reset(sws_getCachedContext(sws_.release(), in->width, in->height, static_cast<AVPixelFormat>(in->format), w,
                                  h, input_format_, SWS_BICUBIC, nullptr, nullptr, nullptr));
  if (!sws_) {
    return invalid_argument("encoder " + choice_.name + ": cannot convert " + std::to_string(in->width) + "x" +
                            std::to_string(in->height) + " " +
                            av_get_pix_fmt_name(static_cast<AVPixelFormat>(in->format)) + " frames");
  }
  sws_scale(sws_.get(), in->data, in->linesize, 0, in->height, converted_->data, converted_->linesize);
  err = av_frame_copy_props(converted_.get(), in);
  if (err < 0) return av_status(err, "encoder " + choice_.name + ": copying frame properties");
  *out = converted_.get();
  return Status();
}

Status EncoderSession::send(const AVFrame* frame) {
  const std::string what = "encoder " + choice_.name;
  if (flushed_) return invalid_argument(what + ": frame sent after the flush");
  if (frame == nullptr) {
    int err = avcodec_send_frame(ctx_.get(), nullptr);
    if (err < 0 && err != AVERROR_EOF) return av_status(err, what + ": flushing");
    flushed_ = true;
    return Status();
  }
  if (frame->hw_frames_ctx != nullptr) return invalid_argument(what + ": expects software frames");
  if (frame->width <= 0 || frame->height <= 0 || frame->format < 0) {
    return invalid_argument(what + ": frame has no picture (size or format unset)");
  }

  const AVFrame* input = nullptr;
  SF_RETURN_IF_ERROR(convert(frame, &input));
  // pts travels on the frame we send; set it without touching the caller's.
  std::int64_t pts = frame->pts == AV_NOPTS_VALUE ? next_pts_ : frame->pts;
  next_pts_ = pts + 1;

  if (input == converted_.get()) converted_->pts = pts;

  FramePtr local;
  if (hw_frame_) {
    av_frame_unref(hw_frame_.get());
    int err = av_hwframe_get_buffer(hw_frames_.get(), hw_frame_.get(), 0);
    if (err < 0) return av_status(err, what + ": getting a VAAPI surface");
    err = av_hwframe_transfer_data(hw_frame_.get(), input, 0);
    if (err < 0) return av_status(err, what + ": uploading a frame to the GPU");
    err = av_frame_copy_props(hw_frame_.get(), input);
    if (err < 0) return av_status(err, what + ": copying frame properties");
    hw_frame_->pts = pts;
    input = hw_frame_.get();
  } else if (input->pts != pts) {
    // The caller's frame, passed through with NOPTS: a new reference
    // carries our pts without touching the caller's frame.
    local = make_frame();
    if (!local) return internal_error(what + ": cannot allocate a frame");
    int err = av_frame_ref(local.get(), input);
    if (err < 0) return av_status(err, what + ": referencing a frame");
    local->pts = pts;
    input = local.get();
  }

  int err = avcodec_send_frame(ctx_.get(), input);
  if (err == AVERROR(EAGAIN)) {
    return internal_error(what + ": frame sent while packets were waiting (receive() until false first)");
  }
  if (err < 0) return av_status(err, what + ": encoding a frame");
  return Status();
}

Status EncoderSession::configure_stream(AVStream* stream) const {
  int err = avcodec_parameters_from_context(stream->codecpar, ctx_.get());
  if (err < 0) return av_status(err, "encoder " + choice_.name + ": stream parameters");
  stream->time_base = ctx_->time_base;
  stream->avg_frame_rate = ctx_->framerate;
  stream->r_frame_rate = ctx_->framerate;
  stream->sample_aspect_ratio = ctx_->sample_aspect_ratio;
  return Status();
}

Result<bool> EncoderSession::receive(AVPacket* packet) {
  if (drained_) return false;
  int err = avcodec_receive_packet(ctx_.get(), packet);
  if (err == AVERROR(EAGAIN)) return false;
  if (err == AVERROR_EOF) {
    drained_ = true;
    return false;
  }
  if (err < 0) return av_status(err, "encoder " + choice_.name + ": receiving a packet");
  return true;
}

Result<CodecContextPtr> open_aac_encoder(int sample_rate, int bit_rate, bool global_header) {
  const AVCodec* aac = avcodec_find_encoder(AV_CODEC_ID_AAC);
  if (aac == nullptr) return unavailable("no AAC encoder in this libavcodec");
  CodecContextPtr ctx(avcodec_alloc_context3(aac));
  if (!ctx) return internal_error("cannot allocate an AAC encoder");
  ctx->sample_rate = sample_rate;
  ctx->sample_fmt = AV_SAMPLE_FMT_FLTP;
  AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
  av_channel_layout_copy(&ctx->ch_layout, &stereo);
  ctx->bit_rate = bit_rate;
  ctx->time_base = AVRational{1, sample_rate};
  if (global_header) ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  av_opt_set(ctx->priv_data, "aac_coder", "fast", 0);
  int err = avcodec_open2(ctx.get(), aac, nullptr);
  if (err < 0) return av_status(err, "opening the AAC encoder");
  return ctx;
}

}  // namespace sf::media
