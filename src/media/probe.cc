#include "media/probe.h"

#include <cmath>

#include "media/av.h"

namespace sf::media {

namespace {

// MediaInfo::timecode and its frame (see probe.h for the order of places).
void read_timecode(const AVFormatContext* fmt, int best_video, MediaInfo* info) {
  const AVStream* video = best_video >= 0 ? fmt->streams[best_video] : nullptr;
  auto tag = [](const AVDictionary* d) -> const char* {
    const AVDictionaryEntry* e = av_dict_get(d, "timecode", nullptr, 0);
    return e != nullptr && e->value[0] != '\0' ? e->value : nullptr;
  };
  const char* tc = nullptr;
  const AVStream* carrier = nullptr;
  if (video != nullptr && (tc = tag(video->metadata)) != nullptr) carrier = video;
  for (unsigned i = 0; tc == nullptr && i < fmt->nb_streams; ++i) {
    const AVStream* st = fmt->streams[i];
    if (st->codecpar->codec_type == AVMEDIA_TYPE_DATA && (tc = tag(st->metadata)) != nullptr) carrier = st;
  }
  if (tc == nullptr) tc = tag(fmt->metadata);
  if (tc == nullptr) return;
  info->timecode = tc;
  AVRational rate{0, 1};
  for (const AVStream* st : {carrier, video}) {
    if (st == nullptr || rate.num > 0) continue;
    rate = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0 ? st->avg_frame_rate : st->r_frame_rate;
  }
  if (rate.num <= 0 || rate.den <= 0) return;
  info->timecode_fps = av_q2d(rate);
  AVTimecode parsed;
  if (av_timecode_init_from_string(&parsed, rate, tc, nullptr) == 0) info->timecode_frame = parsed.start;
}

}  // namespace

int display_rotation(const AVStream* stream) {
  size_t size = 0;
  const uint8_t* sd = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (sd == nullptr || size < 9 * sizeof(int32_t)) return 0;
  // av_display_rotation_get() is counter-clockwise; we speak clockwise.
  const double ccw = av_display_rotation_get(reinterpret_cast<const int32_t*>(sd));
  if (std::isnan(ccw)) return 0;
  long quarter = std::lround(-ccw / 90.0) % 4;
  if (quarter < 0) quarter += 4;
  return static_cast<int>(quarter * 90);
}

const StreamInfo* MediaInfo::video() const {
  for (const auto& s : streams) {
    if (s.kind == "video" && !s.attached_picture) return &s;
  }
  return nullptr;
}

const StreamInfo* MediaInfo::audio() const {
  for (const auto& s : streams) {
    if (s.kind == "audio") return &s;
  }
  return nullptr;
}

Result<MediaInfo> probe(const std::string& path) {
  SF_ASSIGN_OR_RETURN(InputFormatPtr fmt, open_input(path));
  MediaInfo info;
  info.path = path;
  info.format = fmt->iformat->name;
  if (const AVDictionaryEntry* t = av_dict_get(fmt->metadata, "title", nullptr, 0); t != nullptr) info.title = t->value;
  if (fmt->duration != AV_NOPTS_VALUE) info.duration = static_cast<double>(fmt->duration) / AV_TIME_BASE;
  if (fmt->start_time != AV_NOPTS_VALUE) info.start_time = static_cast<double>(fmt->start_time) / AV_TIME_BASE;
  // Prefer the streams libav itself would pick.
  int best_video = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  int best_audio = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    const AVStream* st = fmt->streams[i];
    const AVCodecParameters* par = st->codecpar;
    StreamInfo s;
    s.index = static_cast<int>(i);
    const char* kind = av_get_media_type_string(par->codec_type);
    s.kind = kind != nullptr ? kind : "unknown";
    s.codec = avcodec_get_name(par->codec_id);
    if (st->duration != AV_NOPTS_VALUE) s.duration = static_cast<double>(st->duration) * av_q2d(st->time_base);
    if (st->start_time != AV_NOPTS_VALUE) s.start_time = static_cast<double>(st->start_time) * av_q2d(st->time_base);
    if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
      s.width = par->width;
      s.height = par->height;
      AVRational r = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
      s.fps = r.den > 0 ? av_q2d(r) : 0;
      s.attached_picture = (st->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0;
      s.rotation = display_rotation(st);
      const bool turned = s.rotation == 90 || s.rotation == 270;
      s.display_width = turned ? s.height : s.width;
      s.display_height = turned ? s.width : s.height;
      s.interlaced = par->field_order != AV_FIELD_UNKNOWN && par->field_order != AV_FIELD_PROGRESSIVE;
    } else if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
      s.sample_rate = par->sample_rate;
      s.channels = par->ch_layout.nb_channels;
    }
    info.streams.push_back(std::move(s));
  }
  // Put the best streams first so video()/audio() return them.
  auto promote = [&](int idx) {
    if (idx < 0) return;
    for (size_t j = 0; j < info.streams.size(); ++j) {
      if (info.streams[j].index == idx && j != 0) {
        StreamInfo s = info.streams[j];
        info.streams.erase(info.streams.begin() + static_cast<long>(j));
        info.streams.insert(info.streams.begin(), s);
        return;
      }
    }
  };
  promote(best_audio);
  promote(best_video);
  if (info.duration <= 0) {
    for (const auto& s : info.streams) info.duration = std::max(info.duration, s.duration);
  }
  read_timecode(fmt.get(), best_video, &info);
  return info;
}

}  // namespace sf::media
