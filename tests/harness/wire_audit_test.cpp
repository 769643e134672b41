// The wire audit's judgement (harness/live/wire_audit.h) on crafted MONITOR
// lines and stream entries: an ack after its request's reply is clean; an
// ack before it is flagged (lost when no reply ever came); an entry copied
// to its dead stream first, or acked past its deadline, is not; one request
// answered with two statuses is flagged, the same answer twice is not; an
// ack of an entry the tailer never saw is counted, not judged.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness/live/wire_audit.h"

namespace {

using faultline::harness::audit_wire;
using faultline::harness::MonitorCommand;
using faultline::harness::parse_monitor_line;
using faultline::harness::WireEvidence;
using faultline::harness::WireRequest;

constexpr const char* kStream = "p:validation";

// Evidence of the given MONITOR lines, with entry 1-0 of p:validation
// mapped to request 77 of invoice 5 (deadline at 10 s of wire time).
WireEvidence evidence(const std::vector<std::string>& lines) {
  WireEvidence e;
  e.prefix = "p:";
  e.epoch_us = 1'000'000'000'000'000;  // 1e9 s
  e.time_scale = 1.0;
  for (const auto& line : lines) {
    auto c = parse_monitor_line(line);
    EXPECT_TRUE(c.has_value()) << line;
    if (c) e.commands.push_back(std::move(*c));
  }
  e.requests[{kStream, "1-0"}] = WireRequest{"77", "5", "request", 10'000'000'000};
  return e;
}

std::string reply(const std::string& t, const std::string& status, bool lua = false) {
  return t + (lua ? " [0 lua]" : " [0 127.0.0.1:4000]") +
         R"( "XADD" "p:replies" "*" "v" "1" "kind" "reply" "topic" "replies" "invoice_id" "5" "request_id" "77" )"
         R"("step" "1" "attempt" "1" "deadline" "none" "body" "{\"status\":\")" +
         status + R"(\",\"error\":null}")";
}

std::string ack(const std::string& t) {
  return t + R"( [0 127.0.0.1:4000] "XACK" "p:validation" "validation" "1-0")";
}

TEST(WireAudit, ParsesAMonitorLineWithItsTimeAndScriptMark) {
  const auto c = parse_monitor_line(R"(1000000001.000250 [0 lua] "XACK" "p:validation" "validation" "1-0")");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->t_us, 1'000'000'001'000'250);
  EXPECT_TRUE(c->in_script);
  EXPECT_EQ(c->args, (std::vector<std::string>{"XACK", "p:validation", "validation", "1-0"}));
  EXPECT_FALSE(parse_monitor_line("OK").has_value());
}

TEST(WireAudit, AnAckAfterItsReplyIsClean) {
  const auto r = audit_wire(evidence({reply("1000000001.000000", "ok", true), ack("1000000001.000100")}));
  EXPECT_TRUE(r.early_acks.empty()) << r.early_acks.front();
  EXPECT_TRUE(r.conflicts.empty());
  EXPECT_EQ(r.acks, 1u);
  EXPECT_EQ(r.replies, 1u);
  EXPECT_EQ(r.requests, 1u);
}

TEST(WireAudit, AnAckBeforeItsReplyIsFlaggedAndSaysWhetherItWasLost) {
  const auto late = audit_wire(evidence({ack("1000000001.000000"), reply("1000000001.000100", "ok")}));
  ASSERT_EQ(late.early_acks.size(), 1u);
  EXPECT_NE(late.early_acks[0].find("request 77 (invoice 5) on p:validation"), std::string::npos) << late.early_acks[0];
  EXPECT_NE(late.early_acks[0].find("acked before any reply was written"), std::string::npos);
  EXPECT_NE(late.early_acks[0].find("its reply came after the ack"), std::string::npos);
  EXPECT_EQ(late.lost, 0u);

  const auto lost = audit_wire(evidence({ack("1000000001.000000")}));
  ASSERT_EQ(lost.early_acks.size(), 1u);
  EXPECT_NE(lost.early_acks[0].find("never answered: lost"), std::string::npos) << lost.early_acks[0];
  EXPECT_EQ(lost.lost, 1u);
}

TEST(WireAudit, AnEntryCopiedToItsDeadStreamFirstIsNotFlagged) {
  const auto r = audit_wire(evidence(
      {R"(1000000001.000000 [0 lua] "XADD" "p:validation:dead" "MAXLEN" "~" "1000" "*" "refusal" "bad" )"
       R"("entry_id" "1-0" "deliveries" "1")",
       R"(1000000001.000010 [0 lua] "XACK" "p:validation" "validation" "1-0")"}));
  EXPECT_TRUE(r.early_acks.empty());
  EXPECT_EQ(r.buried, 1u);
}

TEST(WireAudit, AnAckPastTheRequestsDeadlineIsNotFlagged) {
  // The deadline is at 10 s of wire time: 1e9 + 10 s on Redis's clock at time scale 1.
  const auto past = audit_wire(evidence({ack("1000000010.500000")}));
  EXPECT_TRUE(past.early_acks.empty());
  EXPECT_EQ(past.expired, 1u);
  // At time scale 60 the same deadline passes after 1/60 of the wall time.
  auto scaled = evidence({ack("1000000000.200000")});
  scaled.time_scale = 60;
  const auto r = audit_wire(scaled);
  EXPECT_TRUE(r.early_acks.empty());
  EXPECT_EQ(r.expired, 1u);
  const auto before = audit_wire(evidence({ack("1000000009.000000")}));
  EXPECT_EQ(before.early_acks.size(), 1u);
}

TEST(WireAudit, OneRequestAnsweredWithTwoStatusesIsFlaggedTheSameAnswerTwiceIsNot) {
  const auto two = audit_wire(
      evidence({reply("1000000001.000000", "ok"), ack("1000000001.000100"), reply("1000000002.000000", "rejected")}));
  ASSERT_EQ(two.conflicts.size(), 1u);
  EXPECT_NE(two.conflicts[0].find("request 77 of invoice 5 answered ok, then rejected"), std::string::npos)
      << two.conflicts[0];
  const auto same = audit_wire(
      evidence({reply("1000000001.000000", "ok"), ack("1000000001.000100"), reply("1000000002.000000", "ok")}));
  EXPECT_TRUE(same.conflicts.empty());
  EXPECT_EQ(same.replies, 2u);
}

TEST(WireAudit, AnAckOfAnEntryNeverMappedIsCountedNotJudged) {
  const auto r =
      audit_wire(evidence({R"(1000000001.000000 [0 127.0.0.1:4000] "XACK" "p:validation" "validation" "9-0")"}));
  EXPECT_TRUE(r.early_acks.empty());
  EXPECT_EQ(r.unmapped_acks, 1u);
  EXPECT_NE(r.summary().find("1 acks of entries it never mapped"), std::string::npos) << r.summary();
}

TEST(WireAudit, AfterAMonitorGapAnAckWithNoReplySeenIsNotJudged) {
  auto e = evidence({ack("1000000001.000000")});
  MonitorCommand gap;
  gap.gap = true;
  e.commands.insert(e.commands.begin(), gap);
  const auto r = audit_wire(e);
  EXPECT_TRUE(r.early_acks.empty());
  EXPECT_EQ(r.after_gap, 1u);
  EXPECT_EQ(r.gaps, 1u);
}

TEST(WireAudit, AnAckBeforeAReplyHeldBackByAnInjectedReorderingIsNotFlaggedALostOneIs) {
  auto held = evidence({ack("1000000001.000000"), reply("1000000003.000000", "ok")});
  held.injected_holds_us = {{1'000'000'000'500'000, 1'000'000'005'000'000}};
  const auto r = audit_wire(held);
  EXPECT_TRUE(r.early_acks.empty());
  EXPECT_EQ(r.held_by_fault, 1u);
  auto lost = evidence({ack("1000000001.000000")});
  lost.injected_holds_us = held.injected_holds_us;
  EXPECT_EQ(audit_wire(lost).early_acks.size(), 1u);
  auto outside = evidence({ack("1000000006.000000"), reply("1000000007.000000", "ok")});
  outside.injected_holds_us = held.injected_holds_us;
  EXPECT_EQ(audit_wire(outside).early_acks.size(), 1u);
}

}  // namespace
