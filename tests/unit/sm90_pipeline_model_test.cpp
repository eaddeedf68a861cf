// A CPU model of the warp-specialized Hopper attention kernel's pipeline
// (flash_prefill_sm90_ws in kernels/flash_prefill_sm90.cu): its producer and two consumers as
// step machines over modelled mbarriers (phase parity) and named barriers, run under many
// random interleavings, copies landing in any order at random later steps. It checks the
// synchronization the GPU cannot be asked about here: each S and P V reads the key tile it
// should, no copy lands in a stage a consumer still reads, the consumers' turns alternate,
// the named barriers end balanced and no interleaving deadlocks. The tiles' contents and
// masks are the schedule model's (attention_schedule_test.cpp).

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/attention_kernels.h"

namespace genrt {
namespace {

// mbarrier: `expected` arrivals complete a phase; try_wait(parity) is true once the phase of
// that parity has completed, so on a fresh barrier parity 1 (the phase "before") is.
struct MBarrier {
  int expected = 1;
  int pending = 1;
  int completed = 0;
  void arrive(int n = 1) {
    pending -= n;
    ASSERT_GE(pending, 0);
    if (pending == 0) {
      ++completed;
      pending = expected;
    }
  }
  bool try_wait(uint32_t parity) const { return static_cast<uint32_t>(completed % 2) != parity; }
};

// A named barrier of 256 threads: a warpgroup's sync or arrive brings 128.
struct NamedBarrier {
  int count = 0;
  int generation = 0;
  void arrive() {
    if ((count += 128) == 256) {
      count = 0;
      ++generation;
    }
  }
};

struct Copy {
  int stage;
  int64_t tile;
};

struct Pipeline {
  int stages;
  int64_t tiles;
  bool stale_last_tile;  // paged: the last tile's V rows past the context are zeroed
  std::vector<MBarrier> kv_loaded, kv_free;
  std::vector<int64_t> stage_tile;         // the key tile a stage holds (-1: none yet)
  std::vector<int> stage_readers;          // consumers between a read and its release
  std::vector<Copy> in_flight;
  NamedBarrier turn[2], zeroed;
  std::vector<int> turns_taken;

  Pipeline(int s, int64_t n, bool stale)
      : stages(s), tiles(n), stale_last_tile(stale), kv_loaded(s), kv_free(s), stage_tile(s, -1), stage_readers(s, 0) {
    for (MBarrier& b : kv_free) b.expected = b.pending = 256;
  }
};

// The producer thread: the i-th key tile into stage i % stages once tile i - stages is released.
struct Producer {
  int64_t i = 0;
  void step(Pipeline& p) {  // nothing when blocked or done
    if (i == p.tiles) return;
    const int stage = static_cast<int>(i % p.stages);
    if (i >= p.stages && !p.kv_free[stage].try_wait(static_cast<uint32_t>((i / p.stages - 1) % 2))) return;
    p.in_flight.push_back({stage, i});
    ++i;
  }
};

// One consumer warpgroup (its 128 threads move together; barrier arrivals count 128 each).
struct Consumer {
  int c;
  enum Where { start, wait_tile, zero_sync, turn_sync, done } where = start;
  int64_t i = 0;           // the key tile of the next turn (tiles: the last P V's)
  int zero_generation = -1, turn_generation = -1;

  // The stage of key tile `tile` must hold it when a wgmma reads it.
  static void expect_holds(const Pipeline& p, int64_t tile) {
    ASSERT_EQ(p.stage_tile[tile % p.stages], tile) << "stage " << tile % p.stages;
  }
  // bar.sync on this consumer's turn barrier: its 128 arrive, then wait for the other's.
  void join_turn(Pipeline& p) {
    turn_generation = p.turn[c].generation;
    p.turn[c].arrive();
    where = turn_sync;
  }

  void step(Pipeline& p) {  // nothing when blocked
    switch (where) {
      case start:
        if (c == 1 && p.tiles > 0) p.turn[0].arrive();
        where = p.tiles > 0 ? wait_tile : done;
        return;
      case wait_tile: {
        const int stage = static_cast<int>(i % p.stages);
        if (!p.kv_loaded[stage].try_wait(static_cast<uint32_t>(i / p.stages % 2))) return;
        if (p.stale_last_tile && i == p.tiles - 1) {
          zero_generation = p.zeroed.generation;
          p.zeroed.arrive();
          where = zero_sync;
        } else {
          join_turn(p);
        }
        return;
      }
      case zero_sync:
        if (p.zeroed.generation == zero_generation) return;
        join_turn(p);
        return;
      case turn_sync: {
        if (p.turn[c].generation == turn_generation) return;
        // The turn: P V of tile i - 1 and S of tile i issued; after the wait, tile i - 1's
        // stage released (its K read by the previous turn's S, its V by this P V).
        p.turns_taken.push_back(c);
        const bool last_turn = i == p.tiles;
        if (i > 0) expect_holds(p, i - 1);
        if (!last_turn) {
          expect_holds(p, i);
          ++p.stage_readers[i % p.stages];
        }
        if (!(last_turn && c == 1)) p.turn[1 - c].arrive();
        if (i > 0) {
          --p.stage_readers[(i - 1) % p.stages];
          p.kv_free[(i - 1) % p.stages].arrive(128);
        }
        if (last_turn) {
          where = done;
        } else if (++i < p.tiles) {
          where = wait_tile;
        } else {
          join_turn(p);  // the last P V's turn
        }
        return;
      }
      case done: return;
    }
  }
};

// Runs the pipeline under `seed`'s interleaving.
void run_pipeline(int stages, int64_t tiles, bool stale, uint32_t seed) {
  SCOPED_TRACE(testing::Message() << stages << " stages, " << tiles << " tiles, seed " << seed);
  Pipeline p(stages, tiles, stale);
  Producer producer;
  Consumer consumers[2] = {{.c = 0}, {.c = 1}};
  std::mt19937 rng(seed);
  for (int steps = 0; steps < 100000; ++steps) {
    const auto pick = rng() % 4;
    if (pick == 0) {
      producer.step(p);
    } else if (pick == 3) {
      if (!p.in_flight.empty()) {  // any copy in flight may land first
        const auto k = static_cast<std::ptrdiff_t>(rng() % p.in_flight.size());
        const Copy copy = p.in_flight[static_cast<size_t>(k)];
        p.in_flight.erase(p.in_flight.begin() + k);
        ASSERT_EQ(p.stage_readers[copy.stage], 0) << "tile " << copy.tile << " landed in a stage still read";
        p.stage_tile[copy.stage] = copy.tile;
        p.kv_loaded[copy.stage].arrive();
      }
    } else {
      consumers[pick - 1].step(p);
    }
    if (::testing::Test::HasFatalFailure()) return;
    const bool finished = producer.i == tiles && p.in_flight.empty() && consumers[0].where == Consumer::done &&
                          consumers[1].where == Consumer::done;
    if (finished) {
      const int64_t turns = tiles > 0 ? 2 * (tiles + 1) : 0;
      ASSERT_EQ(static_cast<int64_t>(p.turns_taken.size()), turns);
      for (size_t t = 0; t < p.turns_taken.size(); ++t) ASSERT_EQ(p.turns_taken[t], static_cast<int>(t % 2)) << t;
      EXPECT_EQ(p.turn[0].count, 0) << "arrivals left on consumer 0's barrier";
      EXPECT_EQ(p.turn[1].count, 0) << "arrivals left on consumer 1's barrier";
      EXPECT_EQ(p.zeroed.count, 0);
      return;
    }
  }
  FAIL() << "deadlock or livelock: producer at tile " << producer.i << ", consumers at " << consumers[0].i << " and "
         << consumers[1].i;
}

TEST(Sm90PipelineModel, EveryInterleavingReadsTheRightTilesAndEndsBalanced) {
  for (int64_t width : {64, 128, 256}) {
    const int stages = kernels::sm90_prefill_tile(width).stages;
    for (int64_t tiles : {0, 1, 2, 3, 4, 7, 20}) {
      for (bool stale : {false, true}) {
        for (uint32_t seed = 0; seed < 40; ++seed) {
          run_pipeline(stages, tiles, stale, seed);
          if (HasFatalFailure() || HasNonfatalFailure()) return;
        }
      }
    }
  }
}

}  // namespace
}  // namespace genrt
