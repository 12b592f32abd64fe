#include "media/encoders.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <set>
#include <thread>
#include <vector>

#include <unistd.h>

#include "gpu/cuda_driver.h"

namespace sf::media {
namespace {

const EncoderProbe* find_probe(std::string_view name) {
  for (const EncoderProbe& p : probe_encoders()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

TEST(EncoderLadder, ProbesEveryCandidateInLadderOrder) {
  const std::vector<EncoderProbe>& probes = probe_encoders();
  const std::vector<EncoderChoice>& ladder = encoder_ladder();
  ASSERT_EQ(probes.size(), ladder.size());
  for (std::size_t i = 0; i < ladder.size(); ++i) {
    EXPECT_EQ(probes[i].name, ladder[i].name);
    EXPECT_EQ(probes[i].kind, ladder[i].kind);
    if (probes[i].usable) {
      EXPECT_TRUE(probes[i].reason.empty()) << probes[i].name;
    } else {
      EXPECT_FALSE(probes[i].reason.empty()) << probes[i].name << " rejected without a reason";
    }
  }
  EXPECT_EQ(ladder.back().name, "libx264");
  EXPECT_EQ(&probe_encoders(), &probes) << "the probe is cached";
}

TEST(EncoderLadder, Libx264IsUsable) {
  const EncoderProbe* p = find_probe("libx264");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->usable) << p->reason;
}

TEST(EncoderLadder, DefaultChoiceIsFirstUsable) {
  Result<EncoderChoice> c = choose_encoder("", false);
  ASSERT_TRUE(c.ok()) << c.status().message();
  const EncoderProbe* first = nullptr;
  for (const EncoderProbe& p : probe_encoders()) {
    if (p.usable) {
      first = &p;
      break;
    }
  }
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(c->name, first->name);
}

TEST(EncoderLadder, CpuOnlyChoosesLibx264) {
  Result<EncoderChoice> c = choose_encoder("", true);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->name, "libx264");
  EXPECT_EQ(c->preset, "fast");
  EXPECT_EQ(c->kind, "cpu");
}

TEST(EncoderLadder, UnknownForcedEncoderIsInvalidArgument) {
  Result<EncoderChoice> c = choose_encoder("h264_nonexistent", false);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("h264_nonexistent"), std::string::npos);
  EXPECT_NE(c.status().message().find("libx264"), std::string::npos) << "lists the known names";
}

TEST(EncoderLadder, CpuOnlyContradictsAHardwareEncoder) {
  Result<EncoderChoice> c = choose_encoder("h264_nvenc", true);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
}

TEST(EncoderLadder, ForcedNvencFollowsTheProbe) {
  const EncoderProbe* p = find_probe("h264_nvenc");
  ASSERT_NE(p, nullptr);
  // NVENC is reached through the CUDA driver: without it, it cannot work.
  if (!gpu::list_cuda_devices().ok()) {
    EXPECT_FALSE(p->usable);
  }
  Result<EncoderChoice> c = choose_encoder("h264_nvenc", false);
  if (p->usable) {
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->name, "h264_nvenc");
    EXPECT_EQ(c->preset, "p4");
  } else {
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), Code::kUnavailable);
    EXPECT_NE(c.status().message().find("h264_nvenc"), std::string::npos);
    EXPECT_NE(c.status().message().find(p->reason), std::string::npos) << c.status().message();
  }
}

TEST(EncoderLadder, CachedProbeAgreesWithAFreshCheck) {
  for (const EncoderChoice& c : encoder_ladder()) {
    const EncoderProbe* p = find_probe(c.name);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(check_encoder(c).ok(), p->usable) << c.name;
  }
}

TEST(EncoderLadder, ConcurrentChoicesAgree) {
  std::vector<std::string> names(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < names.size(); ++i) {
    threads.emplace_back([&names, i] {
      Result<EncoderChoice> c = choose_encoder("", false);
      names[i] = c.ok() ? c->name : c.status().message();
    });
  }
  for (auto& t : threads) t.join();
  for (const std::string& n : names) EXPECT_EQ(n, names[0]);
}

// --- EncoderSession ---------------------------------------------------------

EncoderChoice x264() {
  Result<EncoderChoice> c = choose_encoder("libx264", false);
  EXPECT_TRUE(c.ok());
  return c.ok() ? *c : EncoderChoice{};
}

FramePtr flat_frame(AVPixelFormat fmt, int w, int h, uint8_t value) {
  FramePtr f = make_frame();
  f->format = fmt;
  f->width = w;
  f->height = h;
  EXPECT_EQ(av_frame_get_buffer(f.get(), 0), 0);
  if (fmt == AV_PIX_FMT_YUV420P) {
    for (int y = 0; y < h; ++y) std::fill_n(f->data[0] + y * f->linesize[0], w, value);
    for (int p = 1; p < 3; ++p) {
      for (int y = 0; y < h / 2; ++y) std::fill_n(f->data[p] + y * f->linesize[p], w / 2, uint8_t{128});
    }
  } else {  // packed RGB24
    for (int y = 0; y < h; ++y) std::fill_n(f->data[0] + y * f->linesize[0], 3 * w, value);
  }
  return f;
}

struct Decoded {
  int width = 0;
  int height = 0;
  double mean_luma = 0;
};

// Encodes `frames` through `session` and returns the packets.
std::vector<PacketPtr> encode_all(EncoderSession& session, const std::vector<FramePtr>& frames) {
  std::vector<PacketPtr> packets;
  auto drain = [&] {
    for (;;) {
      PacketPtr p = make_packet();
      Result<bool> got = session.receive(p.get());
      EXPECT_TRUE(got.ok()) << got.status().message();
      if (!got.ok() || !*got) return;
      packets.push_back(std::move(p));
    }
  };
  for (const FramePtr& f : frames) {
    Status s = session.send(f.get());
    EXPECT_TRUE(s.ok()) << s.message();
    drain();
  }
  EXPECT_TRUE(session.send(nullptr).ok());
  drain();
  EXPECT_TRUE(session.drained());
  return packets;
}

// Decodes H.264 packets with libavcodec's decoder (in presentation order).
std::vector<Decoded> decode_all(const std::vector<PacketPtr>& packets, const AVCodecContext* enc) {
  const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_H264);
  CodecContextPtr dec(avcodec_alloc_context3(codec));
  if (enc->extradata_size > 0) {
    dec->extradata = static_cast<uint8_t*>(av_mallocz(enc->extradata_size + AV_INPUT_BUFFER_PADDING_SIZE));
    std::copy_n(enc->extradata, enc->extradata_size, dec->extradata);
    dec->extradata_size = enc->extradata_size;
  }
  EXPECT_EQ(avcodec_open2(dec.get(), codec, nullptr), 0);
  std::vector<Decoded> out;
  FramePtr f = make_frame();
  auto drain = [&] {
    while (avcodec_receive_frame(dec.get(), f.get()) == 0) {
      Decoded d{f->width, f->height, 0};
      double sum = 0;
      for (int y = 0; y < f->height; ++y) {
        for (int x = 0; x < f->width; ++x) sum += f->data[0][y * f->linesize[0] + x];
      }
      d.mean_luma = sum / (f->width * f->height);
      out.push_back(d);
      av_frame_unref(f.get());
    }
  };
  for (const PacketPtr& p : packets) {
    EXPECT_EQ(avcodec_send_packet(dec.get(), p.get()), 0);
    drain();
  }
  avcodec_send_packet(dec.get(), nullptr);
  drain();
  return out;
}

TEST(EncoderSession, EncodesFramesThatDecodeBack) {
  EncoderSettings s;
  s.width = 320;
  s.height = 240;
  s.fps = AVRational{30, 1};
  Result<std::unique_ptr<EncoderSession>> session = EncoderSession::open(x264(), s);
  ASSERT_TRUE(session.ok()) << session.status().message();
  EXPECT_EQ(av_cmp_q((*session)->time_base(), AVRational{1, 30}), 0);
  EXPECT_EQ((*session)->codec_context()->width, 320);

  std::vector<FramePtr> frames;
  std::vector<uint8_t> luma;
  for (int i = 0; i < 12; ++i) {
    luma.push_back(static_cast<uint8_t>(40 + 14 * i));
    frames.push_back(flat_frame(AV_PIX_FMT_YUV420P, 320, 240, luma.back()));
    frames.back()->pts = i;
  }
  std::vector<PacketPtr> packets = encode_all(**session, frames);
  ASSERT_FALSE(packets.empty());
  std::set<int64_t> pts;
  for (const PacketPtr& p : packets) pts.insert(p->pts);
  EXPECT_EQ(pts.size(), packets.size());

  std::vector<Decoded> decoded = decode_all(packets, (*session)->codec_context());
  ASSERT_EQ(decoded.size(), frames.size());
  for (std::size_t i = 0; i < decoded.size(); ++i) {
    EXPECT_EQ(decoded[i].width, 320);
    EXPECT_EQ(decoded[i].height, 240);
    EXPECT_NEAR(decoded[i].mean_luma, luma[i], 3.0) << "frame " << i;
  }
}

TEST(EncoderSession, GlobalHeaderPutsParameterSetsInExtradata) {
  EncoderSettings s;
  s.width = 256;
  s.height = 144;
  s.global_header = true;
  Result<std::unique_ptr<EncoderSession>> session = EncoderSession::open(x264(), s);
  ASSERT_TRUE(session.ok()) << session.status().message();
  EXPECT_GT((*session)->codec_context()->extradata_size, 0);

  std::vector<FramePtr> frames;
  for (int i = 0; i < 5; ++i) frames.push_back(flat_frame(AV_PIX_FMT_YUV420P, 256, 144, 100));
  std::vector<PacketPtr> packets = encode_all(**session, frames);
  std::vector<Decoded> decoded = decode_all(packets, (*session)->codec_context());
  EXPECT_EQ(decoded.size(), frames.size());
}

TEST(EncoderSession, ConvertsAndScalesOtherFramesAndNumbersMissingPts) {
  EncoderSettings s;
  s.width = 320;
  s.height = 180;
  Result<std::unique_ptr<EncoderSession>> session = EncoderSession::open(x264(), s);
  ASSERT_TRUE(session.ok()) << session.status().message();

  // Gray RGB at twice the size, without timestamps.
  const uint8_t gray = 128;
  std::vector<FramePtr> frames;
  for (int i = 0; i < 6; ++i) {
    frames.push_back(flat_frame(AV_PIX_FMT_RGB24, 640, 360, gray));
    frames.back()->pts = AV_NOPTS_VALUE;
  }
  std::vector<PacketPtr> packets = encode_all(**session, frames);
  std::set<int64_t> pts;
  for (const PacketPtr& p : packets) pts.insert(p->pts);
  EXPECT_EQ(pts, (std::set<int64_t>{0, 1, 2, 3, 4, 5}));

  std::vector<Decoded> decoded = decode_all(packets, (*session)->codec_context());
  ASSERT_EQ(decoded.size(), frames.size());
  // Studio-range BT.601 luma of an RGB gray.
  const double expected = 16.0 + 219.0 * gray / 255.0;
  for (const Decoded& d : decoded) {
    EXPECT_EQ(d.width, 320);
    EXPECT_EQ(d.height, 180);
    EXPECT_NEAR(d.mean_luma, expected, 4.0);
  }
  for (const FramePtr& f : frames) EXPECT_EQ(f->pts, AV_NOPTS_VALUE) << "caller's frames untouched";
}

TEST(EncoderSession, RejectsBadSettingsAndSendsAfterFlush) {
  EncoderSettings odd;
  odd.width = 321;
  odd.height = 240;
  Result<std::unique_ptr<EncoderSession>> bad = EncoderSession::open(x264(), odd);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);

  EncoderSettings zero_fps;
  zero_fps.width = 320;
  zero_fps.height = 240;
  zero_fps.fps = AVRational{0, 1};
  EXPECT_EQ(EncoderSession::open(x264(), zero_fps).status().code(), Code::kInvalidArgument);

  EXPECT_EQ(EncoderSession::open(EncoderChoice{"h264_nonexistent", "", "cpu"}, odd).status().code(),
            Code::kInvalidArgument);

  EncoderSettings s;
  s.width = 256;
  s.height = 144;
  Result<std::unique_ptr<EncoderSession>> session = EncoderSession::open(x264(), s);
  ASSERT_TRUE(session.ok()) << session.status().message();
  ASSERT_TRUE((*session)->send(nullptr).ok());
  FramePtr f = flat_frame(AV_PIX_FMT_YUV420P, 256, 144, 90);
  Status late = (*session)->send(f.get());
  EXPECT_EQ(late.code(), Code::kInvalidArgument);
}

TEST(EncoderSession, UnusableHardwareEncoderIsUnavailable) {
  for (const EncoderChoice& c : encoder_ladder()) {
    const EncoderProbe* p = find_probe(c.name);
    ASSERT_NE(p, nullptr);
    if (p->usable) continue;
    EncoderSettings s;
    s.width = 640;
    s.height = 360;
    Result<std::unique_ptr<EncoderSession>> session = EncoderSession::open(c, s);
    // Some encoders open and fail only on the first frame; those that fail
    // to open must say so as kUnavailable, whatever errno libav chose.
    if (!session.ok()) {
      EXPECT_EQ(session.status().code(), Code::kUnavailable) << c.name << ": " << session.status().message();
      EXPECT_NE(session.status().message().find(c.name), std::string::npos) << session.status().message();
    }
  }
}

TEST(EncoderSession, MuxesIntoMp4ThatReadsBack) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("sf_encoder_test_" + std::to_string(::getpid()) + ".mp4")).string();
  const int kFrames = 10;
  {
    AVFormatContext* raw = nullptr;
    ASSERT_GE(avformat_alloc_output_context2(&raw, nullptr, nullptr, path.c_str()), 0);
    OutputFormatPtr out(raw);
    EncoderSettings s;
    s.width = 320;
    s.height = 240;
    s.fps = AVRational{25, 1};
    s.global_header = (out->oformat->flags & AVFMT_GLOBALHEADER) != 0;
    ASSERT_TRUE(s.global_header) << "mp4 wants global headers";
    Result<std::unique_ptr<EncoderSession>> enc = EncoderSession::open(x264(), s);
    ASSERT_TRUE(enc.ok()) << enc.status().message();
    AVStream* st = avformat_new_stream(out.get(), nullptr);
    ASSERT_NE(st, nullptr);
    ASSERT_TRUE((*enc)->configure_stream(st).ok());
    ASSERT_GE(avio_open(&out->pb, path.c_str(), AVIO_FLAG_WRITE), 0);
    ASSERT_GE(avformat_write_header(out.get(), nullptr), 0);
    std::vector<FramePtr> frames;
    for (int i = 0; i < kFrames; ++i) {
      frames.push_back(flat_frame(AV_PIX_FMT_YUV420P, 320, 240, static_cast<uint8_t>(60 + 10 * i)));
      frames.back()->pts = i;
    }
    for (PacketPtr& p : encode_all(**enc, frames)) {
      av_packet_rescale_ts(p.get(), (*enc)->time_base(), st->time_base);
      p->stream_index = st->index;
      ASSERT_GE(av_interleaved_write_frame(out.get(), p.get()), 0);
    }
    ASSERT_GE(av_write_trailer(out.get()), 0);
  }
  Result<InputFormatPtr> in = open_input(path);
  ASSERT_TRUE(in.ok()) << in.status().message();
  ASSERT_EQ((*in)->nb_streams, 1u);
  const AVStream* st = (*in)->streams[0];
  EXPECT_EQ(st->codecpar->codec_id, AV_CODEC_ID_H264);
  EXPECT_EQ(st->codecpar->width, 320);
  EXPECT_EQ(st->codecpar->height, 240);
  int packets = 0;
  PacketPtr pkt = make_packet();
  while (av_read_frame(in->get(), pkt.get()) >= 0) {
    ++packets;
    av_packet_unref(pkt.get());
  }
  EXPECT_EQ(packets, kFrames);
  EXPECT_NEAR(static_cast<double>(st->duration) * av_q2d(st->time_base), kFrames / 25.0, 1e-6);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace sf::media
