// The pool's wire format over a real pipe.
#include "workers/protocol.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <thread>

namespace sf::workers {
namespace {

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
  void close_write() {
    ::close(w);
    w = -1;
  }
  void raw(const std::string& bytes) { ASSERT_EQ(::write(w, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size())); }
};

TEST(Protocol, MessagesAndAudioPayloadsArriveWholeAndInOrder) {
  Pipe p;
  std::vector<float> audio(200000);  // bigger than a pipe's buffer
  for (size_t i = 0; i < audio.size(); ++i) audio[i] = static_cast<float>(i) * 1e-6f - 0.1f;
  std::thread writer([&] {
    EXPECT_TRUE(write_message(p.w, {{"type", "transcribe"}, {"id", 7}, {"offset", 12.5}}, as_payload(audio)).ok());
    EXPECT_TRUE(write_message(p.w, {{"type", "health"}, {"id", 8}}).ok());
    p.close_write();
  });
  MessageReader reader(p.r);
  auto a = reader.next();
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->type(), "transcribe");
  EXPECT_EQ((*a)->header["id"], 7);
  EXPECT_EQ((*a)->header["offset"], 12.5);
  auto samples = samples_from_payload((*a)->payload);
  ASSERT_TRUE(samples.ok());
  EXPECT_EQ(*samples, audio);  // bit for bit
  auto b = reader.next();
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->type(), "health");
  EXPECT_TRUE((*b)->payload.empty());
  auto end = reader.next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());  // clean end of stream
  writer.join();
}

TEST(Protocol, BrokenStreamsAreCorruptNotCrashes) {
  for (const std::string& bad : {std::string("not json\n"), std::string("[1,2]\n"), std::string("{\"id\":1}\n"),
                                std::string("{\"type\":\"x\",\"bytes\":-3}\n")}) {
    Pipe p;
    p.raw(bad);
    p.close_write();
    MessageReader reader(p.r);
    auto m = reader.next();
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.status().code(), Code::kCorrupt) << bad;
  }
  {  // ends inside a payload
    Pipe p;
    p.raw("{\"type\":\"transcribe\",\"bytes\":100}\nabc");
    p.close_write();
    MessageReader reader(p.r);
    auto m = reader.next();
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), Code::kCorrupt);
  }
  {  // ends inside a header line
    Pipe p;
    p.raw("{\"type\":\"he");
    p.close_write();
    MessageReader reader(p.r);
    EXPECT_EQ(reader.next().status().code(), Code::kCorrupt);
  }
  EXPECT_EQ(samples_from_payload(std::vector<char>(7)).status().code(), Code::kCorrupt);
}

TEST(Protocol, WritingToAGonePeerIsAnError) {
  ::signal(SIGPIPE, SIG_IGN);
  Pipe p;
  ::close(p.r);
  p.r = -1;
  Status s = write_message(p.w, {{"type", "health"}});
  EXPECT_EQ(s.code(), Code::kUnavailable);
}

}  // namespace
}  // namespace sf::workers
