// Probing a media file: duration, streams, codecs, size, frame rate,
// orientation, the container clock's origin and the start timecode.
//
// Times: libav timestamps count on the container's clock, which need not
// start at zero (an MPEG-TS capture often starts at an hour or more). The
// rest of studioflow works in *file time*: seconds from the file's start as
// a player shows it, i.e. container clock minus `MediaInfo::start_time`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

struct AVStream;

namespace sf::media {

struct StreamInfo {
  int index = -1;
  std::string kind;   // "video" | "audio" | "subtitle" | "data" | "attachment"
  std::string codec;  // libav codec name, e.g. "h264", "aac", "opus"
  int width = 0, height = 0;  // video: stored (coded) picture size
  // Video: degrees (0, 90, 180 or 270) the stored picture is turned
  // clockwise to show it upright, from the stream's display matrix. A phone
  // clip held upright is typically stored landscape with rotation 90.
  int rotation = 0;
  // Video: the size as shown, after `rotation` (width/height swapped at 90
  // and 270). Renderers and profiles use this, not width/height.
  int display_width = 0, display_height = 0;
  bool interlaced = false;    // video: the container or codec says fields, not frames
  double fps = 0;             // video: average (or real base) frame rate
  int sample_rate = 0, channels = 0;  // audio
  double duration = 0;        // seconds; 0 when unknown
  // Container-clock seconds of the stream's first timestamp (0 when unknown).
  double start_time = 0;
  bool attached_picture = false;  // cover art, not real video
};

struct MediaInfo {
  std::string path;
  std::string format;   // container, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  std::string title;    // the container's "title" tag; empty when none
  double duration = 0;  // seconds
  // Container-clock seconds at file time 0 (AVFormatContext::start_time;
  // 0 when the container gives none). File time = stream time - start_time.
  double start_time = 0;
  std::vector<StreamInfo> streams;

  // Source timecode: the label of the frame at file time 0, as a camera or
  // editor stamped it, from libav's `timecode` tag on the video stream, on
  // a timecode stream (a QuickTime / MP4 `tmcd` track: a "data" stream) or
  // on the container (MXF, DV), in that order. "HH:MM:SS:FF", with ';'
  // before the frames for drop-frame. Empty when the file has none.
  std::string timecode;
  // The frame number `timecode` names, counted at `timecode_fps` (the frame
  // rate of the stream that carries it, else the video's): 90000 for
  // "01:00:00:00" at 25 fps, 107892 for "01:00:00;00" at 29.97. -1 when
  // there is no timecode or it cannot be read at that rate (a drop-frame
  // label at 25 fps, frames past the rate).
  int64_t timecode_frame = -1;
  double timecode_fps = 0;

  // The best real video / audio stream, or nullptr. An attached picture
  // (cover art in MP3 / M4A) is never the video: such a file is audio-only.
  const StreamInfo* video() const;
  const StreamInfo* audio() const;
};

// Probes `path`. Errors name the path: kNotFound, kPermission, kBadMedia.
Result<MediaInfo> probe(const std::string& path);

// Clockwise display rotation of `stream` (0, 90, 180, 270), from its display
// matrix side data; angles that are not a multiple of 90 round to the
// nearest one. 0 when there is no matrix. For media/ code holding an open
// stream; the pointer is only read.
int display_rotation(const AVStream* stream);

}  // namespace sf::media
