// Editor exports of a supercut: the same cut as an edit decision list, an
// editor's project, an OpenTimelineIO timeline, an mpv playlist or
// subtitles, so it can be finished in an editor or played without a render.
//
//   format   extension   what it is
//   edl      .edl        CMX 3600 edit decision list (one event per clip)
//   fcp7     .xml        Final Cut Pro 7 XML (xmeml 5): Premiere, Resolve
//   fcpxml   .fcpxml     Final Cut Pro X XML (version 1.10)
//   otio     .otio       OpenTimelineIO JSON
//   mpv      .mpv.edl    mpv's EDL: plays the supercut without rendering
//   srt      .srt        subtitles: each clip's sentence at output times
//   vtt      .vtt        the same as WebVTT
//
// Times. A clip's source range is in *file time* of its source (seconds
// from the file's start as a player shows it), its record range in seconds
// of the output. Source frames count at the source's frame rate (snapped by
// frame_rate(); an audio-only source counts at the sequence rate), record
// frames at Timeline::rate. Frames are rounded to the nearest (an exact
// half up), so a clip whose record range is whole frames keeps its length.
//
// Source timecode. A source whose container names a start timecode
// (Source::timecode, from a `tmcd` track or a `timecode` tag) starts at
// that frame: EDL source timecodes, FCPXML asset and clip starts and OTIO
// source ranges are offset by it; FCP7 XML, whose in/out points count from
// the media's first frame, carries it in the file's <timecode> element. A
// timecode that cannot be read at the source's rate counts as none.
//
// Paths. Local sources are written as absolute paths (EDL comments, mpv
// EDL) or file:// URLs (XML, OTIO), percent-encoded; http(s) URLs as given.
// Relative paths are made absolute against the working folder.
//
// All functions are pure (except reading the working folder for relative
// paths) and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "export/timecode.h"

namespace sf::exports {

enum class Format { kEdl, kFcp7Xml, kFcpxml, kOtio, kMpvEdl, kSrt, kVtt };

// Every format, in the order of the table above.
const std::vector<Format>& all_formats();
// "edl", "fcp7", "fcpxml", "otio", "mpv", "srt", "vtt".
std::string_view format_name(Format f);
// ".edl", ".xml", ".fcpxml", ".otio", ".mpv.edl", ".srt", ".vtt".
std::string_view extension(Format f);
// MIME type for downloads, e.g. "application/xml".
std::string_view content_type(Format f);
// "edl (.edl), fcp7 (.xml), ...": for usage errors.
std::string formats_help();

// The format named `name` (a format name, or an extension with or without
// its dot: "xml", ".mpv.edl"), case-insensitive. kInvalidArgument naming
// the value and listing the formats otherwise.
Result<Format> parse_format(std::string_view name);
// The format of an export file by its extension (".mpv.edl" before
// ".edl"), case-insensitive. kInvalidArgument naming the file and listing
// the formats when the extension is none of them.
Result<Format> format_for_path(std::string_view path);

// One export to write: a file and its format.
struct Target {
  std::string path;
  Format format = Format::kEdl;
};

// The exports `paths` name: each one's format by its extension, or all of
// `forced_format` when that is not empty (then any extension goes). Errors
// (kInvalidArgument, before any work): an unknown extension (naming the
// file and listing the formats), an unknown forced format, an empty path,
// the same file named twice.
Result<std::vector<Target>> targets(const std::vector<std::string>& paths, std::string_view forced_format = {});

struct Source {
  std::string path;      // file path or http(s) URL, as the job read it
  std::string name;      // shown to editors; empty: the path's file name
  double duration = 0;   // seconds; 0: unknown (the clips' extent is used)
  bool has_video = false;
  double fps = 0;        // video frame rate; 0 (or no video): the sequence rate
  int width = 0, height = 0;  // picture as shown (0: the sequence size)
  int sample_rate = 0, channels = 0;  // 0: 48000 Hz, 2 channels
  std::string timecode;  // start timecode ("01:00:00:00"); empty: none
};

struct Clip {
  int source = 0;                   // index into Timeline::sources
  double start = 0, end = 0;        // file time of the source, seconds
  double output_start = 0, output_end = 0;  // seconds of the output
  std::string text;                 // the sentence(s) the clip shows
  std::vector<std::string> words;   // the matched words, as spoken
};

struct Timeline {
  std::string name = "supercut";  // sequence / project name
  // Record (output) rate and picture size. A rate with num <= 0 or an
  // unset size: the first video source's, else 30 fps and 1920x1080.
  FrameRate rate{0, 1};
  int width = 0, height = 0;
  std::vector<Source> sources;
  std::vector<Clip> clips;  // in output order, record ranges not overlapping
};

// The sequence rate and size the writers use after the defaults above.
FrameRate sequence_rate(const Timeline& t);

// A source's frame rate: its own, snapped, when it has video, else the
// sequence rate.
FrameRate source_rate(const Timeline& t, const Source& s);

// The frame a source's file time 0 carries by its start timecode (0 when
// it has none, or it cannot be read at its rate).
int64_t source_start_frame(const Timeline& t, const Source& s);

// CMX 3600 reel name: the file name without its extension, upper-cased,
// letters, digits and '_' only, at most 8 characters ("AX" when nothing is
// left).
std::string reel_name(std::string_view path);

// The export text. REQUIRES: every clip's source indexes `sources`.
std::string render(const Timeline& t, Format f);

std::string to_edl(const Timeline& t);
std::string to_fcp7_xml(const Timeline& t);
std::string to_fcpxml(const Timeline& t);
std::string to_otio(const Timeline& t);
std::string to_mpv_edl(const Timeline& t);
std::string to_srt(const Timeline& t);
std::string to_vtt(const Timeline& t);

// Pieces the writers share, for tests and other writers:

// "file:///abs/path%20with%20space.mp4" for a local path (made absolute),
// an http(s) URL unchanged.
std::string file_url(std::string_view path);
// The clip's sentence with each word that matches one of its words (after
// search::normalize_word) wrapped in <b>...</b>; '&', '<', '>' escaped as
// entities when `escape` (WebVTT), else '<' and '>' dropped (SRT).
std::string highlighted_text(const Clip& c, bool escape);

}  // namespace sf::exports
