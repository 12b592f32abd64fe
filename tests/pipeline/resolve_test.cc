#include "pipeline/resolve.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/command.h"
#include "media/probe.h"
#include "media/remote.h"

namespace sf::pipeline {
namespace {

TEST(Locations, OnlyHttpAndHttpsAreUrlsThatMayBeRead) {
  EXPECT_TRUE(media::check_location("http://127.0.0.1:8000/a.mp4").ok());
  EXPECT_TRUE(media::check_location("HTTPS://example.org/v").ok());
  EXPECT_TRUE(media::check_location("/tmp/talk.mp4").ok());
  EXPECT_TRUE(media::check_location("C:/videos/talk.mp4").ok());  // a drive letter is no scheme
  for (const char* bad : {"file:///etc/passwd", "concat:a.mp4|b.mp4", "subfile,,start,0,end,1,,:/etc/passwd",
                          "data:video/mp4;base64,AAAA", "ftp://host/a.mp4", "crypto:http://h/a", "pipe:0",
                          "http:/one-slash", "https://"}) {
    Status s = media::check_location(bad);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find(bad), std::string::npos) << s.message();
  }
  EXPECT_EQ(media::protocol_whitelist("/a/b.mp4"), "file");
  EXPECT_EQ(media::protocol_whitelist("http://h/b.mp4"), "http,https,tcp,tls");
  EXPECT_EQ(media::protocol_whitelist("https://h/live.m3u8?x=1"), "http,https,tcp,tls,crypto");
}

TEST(Locations, OpenInputRefusesOtherSchemesBeforeOpening) {
  for (const char* bad : {"file:///etc/passwd", "concat:/etc/passwd", "data:text/plain,hello"}) {
    auto r = media::probe(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().message();
    EXPECT_NE(r.status().message().find("not allowed"), std::string::npos) << r.status().message();
  }
}

TEST(Locations, UnreachableServerIsANetworkError) {
  // Port 9 (discard) on loopback: nothing listens in the test environment.
  auto r = media::probe("http://127.0.0.1:9/none.mp4");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().message();
  EXPECT_NE(r.status().message().find("http://127.0.0.1:9/none.mp4"), std::string::npos);
  EXPECT_TRUE(media::is_transient(r.status()));
}

TEST(References, ResolveAgainstUrlsAndLocalPlaylists) {
  const std::string base = "http://h:8/media/lists/play.m3u?token=1";
  EXPECT_EQ(resolve_reference(base, "a.mp4"), "http://h:8/media/lists/a.mp4");
  EXPECT_EQ(resolve_reference(base, "../b.mp4"), "http://h:8/media/b.mp4");
  EXPECT_EQ(resolve_reference(base, "./sub/c.mp4?x=2"), "http://h:8/media/lists/sub/c.mp4?x=2");
  EXPECT_EQ(resolve_reference(base, "/top.mp4"), "http://h:8/top.mp4");
  EXPECT_EQ(resolve_reference(base, "//other/x.mp4"), "http://other/x.mp4");
  EXPECT_EQ(resolve_reference(base, "https://e.org/y.webm"), "https://e.org/y.webm");
  EXPECT_EQ(resolve_reference("http://h", "a.mp4"), "http://h/a.mp4");
  EXPECT_EQ(resolve_reference("/srv/lists/p.m3u", "../v/a.mp4"), "/srv/v/a.mp4");
  EXPECT_EQ(resolve_reference("/srv/lists/p.m3u", "/abs/a.mp4"), "/abs/a.mp4");
  EXPECT_EQ(resolve_reference("lists/p.m3u", "a.mp4"), "lists/a.mp4");
  // A remote playlist's entry keeps its scheme, so a file: entry is still refused later.
  EXPECT_EQ(resolve_reference(base, "file:///etc/passwd"), "file:///etc/passwd");
}

TEST(Playlists, M3uEntriesInOrderWithTitles) {
  const std::string text =
      "\xEF\xBB\xBF#EXTM3U\r\n#EXTINF:12,First talk\r\na.mp4\r\n\r\n# a comment\r\n  b.webm  \r\n"
      "#EXTINF:-1 tvg-id=\"x\",Radio, live\nhttp://r/c.m4a\n";
  auto e = parse_m3u(text, "http://h/p/list.m3u");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].location, "http://h/p/a.mp4");
  EXPECT_EQ(e[0].title, "First talk");
  EXPECT_EQ(e[1].location, "http://h/p/b.webm");
  EXPECT_EQ(e[1].title, "");
  EXPECT_EQ(e[2].location, "http://r/c.m4a");
  EXPECT_EQ(e[2].title, "Radio, live");
  EXPECT_FALSE(is_hls_playlist(text));
  EXPECT_TRUE(is_hls_playlist("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg0.ts\n"));
}

TEST(Playlists, LocalPlaylistWhoseOnlyEntryIsMissingFails) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "sf-resolve-test";
  fs::create_directories(dir);
  {
    std::ofstream(dir / "list.m3u") << "#EXTM3U\n#EXTINF:1,Gone\nmissing.mp4\n";
  }
  auto r = resolve_inputs({(dir / "list.m3u").string()});
  ASSERT_FALSE(r.ok());  // nothing readable is left
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find((dir / "missing.mp4").string()), std::string::npos) << r.status().message();
  fs::remove_all(dir);
}

TEST(Pages, YtDlpJsonSingleVideoAndFlatPlaylist) {
  auto one = parse_yt_dlp_json(R"({"_type":"video","title":"Talk","url":"http://h/v.mp4","ext":"mp4"})", "p");
  ASSERT_TRUE(one.ok()) << one.status().message();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].url, "http://h/v.mp4");
  EXPECT_EQ((*one)[0].title, "Talk");
  EXPECT_FALSE((*one)[0].is_page);

  auto list = parse_yt_dlp_json(
      R"({"_type":"playlist","title":"All","entries":[{"_type":"url","url":"http://h/watch?v=1","title":"One"},
          {"_type":"url","url":"http://h/two.webm","title":"Two"},
          {"title":"Three","requested_formats":[{"url":"http://h/3v","acodec":"none"},{"url":"http://h/3a","acodec":"opus"}]}]})",
      "p");
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_TRUE((*list)[0].is_page);
  EXPECT_FALSE((*list)[1].is_page);
  EXPECT_EQ((*list)[2].url, "http://h/3a");
  EXPECT_EQ((*list)[2].title, "Three");

  EXPECT_EQ(parse_yt_dlp_json("not json", "http://p").status().code(), Code::kBadMedia);
  EXPECT_EQ(parse_yt_dlp_json(R"({"_type":"playlist","entries":[]})", "http://p").status().code(), Code::kBadMedia);
}

TEST(Titles, FileNameWhenNothingBetter) {
  EXPECT_EQ(file_name_title("http://h/a/My%20Talk.mp4?sig=abc"), "My Talk.mp4");
  EXPECT_EQ(file_name_title("/media/talk_a.mp4"), "talk_a.mp4");
}

TEST(Limits, SeedDefaultsAndValidatedValues) {
  ::unsetenv("MAX_SEGMENT_DOWNLOADS");
  ::unsetenv("MAX_CLIP_DOWNLOADS");
  EXPECT_EQ(download_limits().segment_readers, 6);
  EXPECT_EQ(download_limits().clip_readers, 8);
  ::setenv("MAX_SEGMENT_DOWNLOADS", "3", 1);
  ::setenv("MAX_CLIP_DOWNLOADS", "64", 1);
  EXPECT_EQ(download_limits().segment_readers, 3);
  EXPECT_EQ(download_limits().clip_readers, 64);
  // Out of range: config::validate_env() refuses it at startup; a caller
  // that skipped validation gets the default.
  ::setenv("MAX_SEGMENT_DOWNLOADS", "0", 1);
  ::setenv("MAX_CLIP_DOWNLOADS", "1000", 1);
  EXPECT_EQ(download_limits().segment_readers, 6);
  EXPECT_EQ(download_limits().clip_readers, 8);
  ::unsetenv("MAX_SEGMENT_DOWNLOADS");
  ::unsetenv("MAX_CLIP_DOWNLOADS");
}

TEST(Command, RunsAnArgumentVectorWithoutAShell) {
  auto r = run_command({"/bin/echo", "a b", "$(touch /tmp/sf-no-shell)", ";", "|"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out, "a b $(touch /tmp/sf-no-shell) ; |\n");
  EXPECT_FALSE(std::filesystem::exists("/tmp/sf-no-shell"));
  auto fails = run_command({"/bin/sh", "-c", "echo oops >&2; exit 3"});
  ASSERT_TRUE(fails.ok());
  EXPECT_EQ(fails->exit_code, 3);
  EXPECT_EQ(fails->err, "oops\n");
  auto missing = run_command({"sf-no-such-program-xyz"});
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  auto slow = run_command({"/bin/sleep", "5"}, CommandOptions{0.3, 1024});
  EXPECT_EQ(slow.status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace sf::pipeline
