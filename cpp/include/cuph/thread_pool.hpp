// Parked threads, reused from call to call.
//
// Starting threads per call (std::async for the job, std::thread for its helpers) made every
// call begin with cold thread_local scratch buffers and a cold malloc arena: 4x the page faults
// and about 8% of the time of a batch of 2048 small 2-D maps (best of 8). A call now takes
// threads from an idle list (starting one only when none is idle), gives each one job, and
// whoever waits for a job puts its thread back.
//
// Fork: a child process has only the forking thread, so a pthread_atfork handler gives the
// child an empty pool (the parent's parked threads do not exist there).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "errors.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif

namespace cuph {

class ThreadPool {
 public:
  // One parked thread. start() gives it a job (which must not throw); wait()/wait_for() block
  // until the job has finished and the thread holds no reference to it.
  class Worker {
   public:
    void start(std::function<void()> job) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        job_ = std::move(job);
        done_ = false;
        started_.store(false, std::memory_order_relaxed);
      }
      wake_.notify_one();
    }
    // Whether the job has begun running (a hint: see run_team).
    bool started() const { return started_.load(std::memory_order_acquire); }
    void wait() {
      std::unique_lock<std::mutex> lock(mutex_);
      finished_.wait(lock, [this] { return done_; });
    }
    template <class Rep, class Period>
    bool wait_for(const std::chrono::duration<Rep, Period>& d) {
      std::unique_lock<std::mutex> lock(mutex_);
      return finished_.wait_for(lock, d, [this] { return done_; });
    }

   private:
    friend class ThreadPool;
    void loop() {
      for (;;) {
        std::function<void()> job;
        {
          std::unique_lock<std::mutex> lock(mutex_);
          wake_.wait(lock, [this] { return bool(job_); });
          job = std::move(job_);
          job_ = nullptr;
        }
        started_.store(true, std::memory_order_release);
        job();
        job = nullptr;  // the job's captures go before the waiter may return
        {
          std::lock_guard<std::mutex> lock(mutex_);
          done_ = true;
        }
        finished_.notify_all();
      }
    }
    std::mutex mutex_;
    std::condition_variable wake_, finished_;
    std::function<void()> job_;
    bool done_ = true;
    std::atomic<bool> started_{true};
  };

  static ThreadPool& instance() {
    static std::once_flag once;
    std::call_once(once, [] {
#if defined(__unix__) || defined(__APPLE__)
      pthread_atfork(nullptr, nullptr, [] { current() = new ThreadPool; });
#endif
      current() = new ThreadPool;
    });
    return *current();
  }

  // An idle worker, or a new one. Give it back with release() after waiting for its job.
  Worker* acquire() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!idle_.empty()) {
        Worker* w = idle_.back();
        idle_.pop_back();
        return w;
      }
    }
    // Parked threads live as long as the process (they hold no resources while idle), so they
    // are detached and never destroyed.
    Worker* w = new Worker;
    std::thread([w] { w->loop(); }).detach();
    return w;
  }
  void release(Worker* w) {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(w);
  }

  // Runs fn(t) for t in [0, k): t = 0 on the calling thread, the others on pool threads; returns
  // when all have finished. fn must not throw on a pool thread; an exception of the calling
  // thread's part is rethrown once the others are done (they may still be using fn).
  // (Where no thread can be started, that part runs on the calling thread after its own.)
  template <class F> void run_team(int k, F&& fn) {
    std::vector<Worker*> team;
    std::vector<int> here;
    const int leader_cpu = k > 1 ? current_cpu() : -1;
    for (int t = 1; t < k; ++t) {
      Worker* w = nullptr;
      try {
        w = acquire();
      } catch (const std::system_error&) {
        here.push_back(t);
        continue;
      }
      w->start([&fn, t, leader_cpu] {
        leave_cpu(leader_cpu);
        fn(t);
      });
      team.push_back(w);
    }
    // A helper queued behind its leader on the leader's CPU would start only when the leader's
    // part is done: give it the CPU for a moment, so that it can move (leave_cpu). Helpers that
    // are already running, or starting elsewhere, cost the leader a few polls.
    int yields = 64;  // for the whole team: a busy machine must not hold the leader long
    if (leader_cpu >= 0)
      for (Worker* w : team)
        for (; yields > 0 && !w->started(); --yields) std::this_thread::yield();
    Failure error;
    try {
      fn(0);
      for (int t : here) fn(t);
    } catch (...) {
      error.capture();
    }
    for (Worker* w : team) {
      w->wait();
      release(w);
    }
    if (error) error.raise();
  }

 private:
  static int current_cpu() {
#if defined(__linux__)
    return sched_getcpu();
#else
    return -1;
#endif
  }
  // A woken helper that the kernel put on its leader's CPU moves to another CPU it may run on.
  // After a long single-threaded stretch (a Python gc, another library's call), Linux (6.18 on
  // this project's 2-vCPU VM) woke helpers onto their waker's busy CPU while the other CPU was
  // idle (seen in a sched trace; its wakeup search for an idle CPU is limited by how busy the
  // cache domain has been), so a single 64x56x56 volume on 2 threads ran at one thread's
  // speed. Leaving the CPU is one affinity change and its undo, only when the helper shares
  // the leader's CPU.
  static void leave_cpu(int cpu) {
#if defined(__linux__)
    if (cpu < 0 || sched_getcpu() != cpu) return;
    cpu_set_t allowed, others;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0 || !CPU_ISSET(cpu, &allowed) ||
        CPU_COUNT(&allowed) < 2)
      return;
    others = allowed;
    CPU_CLR(cpu, &others);
    if (sched_setaffinity(0, sizeof(others), &others) == 0)  // migrates now
      sched_setaffinity(0, sizeof(allowed), &allowed);
#else
    (void)cpu;
#endif
  }
  static ThreadPool*& current() {
    static ThreadPool* pool = nullptr;
    return pool;
  }
  std::mutex mutex_;
  std::vector<Worker*> idle_;
};

}  // namespace cuph
