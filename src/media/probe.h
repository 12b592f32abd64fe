// Probing a media file: duration, streams, codecs, size, frame rate.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace sf::media {

struct StreamInfo {
  int index = -1;
  std::string kind;   // "video" | "audio" | "subtitle" | "data" | "attachment"
  std::string codec;  // libav codec name, e.g. "h264", "aac", "opus"
  int width = 0, height = 0;  // video
  double fps = 0;             // video: average (or real base) frame rate
  int sample_rate = 0, channels = 0;  // audio
  double duration = 0;        // seconds; 0 when unknown
  bool attached_picture = false;  // cover art, not real video
};

struct MediaInfo {
  std::string path;
  std::string format;   // container, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  std::string title;    // the container's "title" tag; empty when none
  double duration = 0;  // seconds
  std::vector<StreamInfo> streams;

  // The best real video / audio stream, or nullptr.
  const StreamInfo* video() const;
  const StreamInfo* audio() const;
};

// Probes `path`. Errors name the path: kNotFound, kPermission, kBadMedia.
Result<MediaInfo> probe(const std::string& path);

}  // namespace sf::media
