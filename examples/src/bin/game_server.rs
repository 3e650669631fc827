//! A game server's state in one segment, used by three processes that know it only by name.
//!
//! `schemas/game_server.toml` declares twelve structures — pools of players, monsters and
//! projectiles, a collision grid, damage/spawn/network queues, a ring of frame statistics,
//! counters and a leaderboard. The server creates them all at once (`GameServer::create`); the
//! other processes *discover* what they need by name, each opening only the structures it uses
//! with the element type it expects — and a structure opened with the wrong type is refused.
//!
//! * the **server** runs the match: it spawns the monsters the AI asks for, lets the players
//!   fight them, and reports every hit on the damage queue;
//! * the **AI** process asks for monsters (an MPSC queue into the server) and sleeps on
//!   `match_active` until the match is over;
//! * the **analytics** process prints the segment's memory map, consumes the damage events,
//!   reads the newest frame statistics from the ring, and writes the leaderboard — which the
//!   server checks against its own tally.
//!
//! ```sh
//! cargo run -p zipc-examples --bin game_server
//! ```

use std::time::{Duration, Instant};

use zipc::{Array, Atomic, Handle, Mpsc, Pool, Queue, Ring, Segment};
use zipc_examples::{role, thousands, wait_all, BoxError, Peer, Unlink};

mod schema {
    #![allow(dead_code)] // this example leaves `projectiles` and `network_queue` unused
    zipc::include_schema!("game_server");
}
use schema::{DamageEvent, FrameStats, GameServer, Monster, Player, ScoreEntry, SpawnRequest};

const PLAYERS: u32 = 4;
const MONSTERS: u32 = 120;
const HIT: f32 = 5.0;
/// `tick` of the last damage event: the match is over.
const END_OF_MATCH: u64 = u64::MAX;

fn main() -> Result<(), BoxError> {
    match role() {
        Some((role, args)) if role == "ai" => ai(&args[0]),
        Some((role, args)) if role == "analytics" => analytics(&args[0]),
        _ => server(),
    }
}

fn player_name(id: u32) -> [u8; 16] {
    let mut name = [0u8; 16];
    let s = format!("player-{id}");
    name[..s.len()].copy_from_slice(s.as_bytes());
    name
}

fn server() -> Result<(), BoxError> {
    let name = zipc_examples::unique_name(GameServer::NAME);
    let _cleanup = Unlink::new(&name);
    let seg = GameServer::create(&name)?;
    println!(
        "[server] created {name}: {} structures, {} bytes",
        GameServer::LAYOUT.structures.len(),
        thousands(GameServer::SIZE)
    );

    // The players, at the four corners of the arena.
    let mut players = Vec::new();
    for id in 0..PLAYERS {
        let h = seg.players.try_acquire()?.ok_or("the player pool is full")?;
        let corner = [if id % 2 == 0 { -20.0 } else { 20.0 }, 0.0, if id < 2 { -20.0 } else { 20.0 }];
        let p = Player { id, team: id % 2, position: corner, health: 100.0, score: 0, name: player_name(id) };
        seg.players.write(h, p)?;
        players.push(p);
    }
    seg.players_online.store(PLAYERS);
    seg.match_active.store(1);

    let peers = vec![Peer::spawn("analytics", &[&name])?, Peer::spawn("ai", &[&name])?];

    // The match: runs until every monster the AI asks for has been defeated.
    let mut spawns = seg.spawn_queue.consumer()?; // the server is the spawn queue's one consumer
    let mut frames = seg.frame_stats.producer()?;
    let mut monsters: Vec<Handle> = Vec::new();
    let mut dealt = [0.0f32; PLAYERS as usize]; // the server's own tally, to check the leaderboard
    let (mut defeated, mut tick, mut events) = (0, 0u64, 0u64);
    let mut occupied: Vec<usize> = Vec::new(); // collision cells set last tick
    while defeated < MONSTERS {
        let start = Instant::now();
        tick += 1;
        // New monsters: wait for the AI when the arena is empty, otherwise take what is there.
        let first = if monsters.is_empty() { Some(spawns.pop(Some(Duration::from_secs(60)))?) } else { None };
        for req in first.into_iter().chain(std::iter::from_fn(|| spawns.try_pop().ok().flatten())) {
            let h = seg.monsters.try_acquire()?.ok_or("the monster pool is full")?;
            let target = req.kind % PLAYERS;
            seg.monsters
                .write(h, Monster { kind: req.kind, target, position: [req.x, req.y, req.z], health: 100.0 })?;
            monsters.push(h);
        }
        // Every monster walks toward its target, which hits it.
        let mut alive = Vec::with_capacity(monsters.len());
        for &h in &monsters {
            let mut m: Monster = seg.monsters.read(h)?;
            let goal = players[m.target as usize].position;
            for axis in [0, 2] {
                m.position[axis] += (goal[axis] - m.position[axis]).clamp(-0.5, 0.5);
            }
            m.health -= HIT;
            dealt[m.target as usize] += HIT;
            let hit = DamageEvent { tick, source: m.target, target: h.index, amount: HIT, _pad20: 0 };
            seg.damage_queue.push(hit, None)?; // MPSC: any process may report damage
            events += 1;
            if m.health <= 0.0 {
                seg.monsters.release(h)?;
                defeated += 1;
            } else {
                seg.monsters.write(h, m)?;
                alive.push((h, m));
            }
        }
        monsters = alive.iter().map(|&(h, _)| h).collect();
        // The collision grid: monsters per 1×1 cell of a 256×256 arena.
        for cell in occupied.drain(..) {
            seg.collision.store(cell, 0)?;
        }
        for (_, m) in &alive {
            let cell = |v: f32| ((v + 128.0) as usize).min(255);
            let i = cell(m.position[2]) * 256 + cell(m.position[0]);
            seg.collision.fetch_add(i, 1)?;
            occupied.push(i);
        }
        let stats = FrameStats {
            tick,
            frame_ns: start.elapsed().as_nanos() as u64,
            entities: (PLAYERS as usize + monsters.len()) as u32,
            messages: 0,
        };
        let _always = frames.try_push(stats); // overwrite mode: never full, keeps the newest 4096
        seg.tick.store(tick);
    }
    seg.damage_queue.push(DamageEvent { tick: END_OF_MATCH, source: 0, target: 0, amount: 0.0, _pad20: 0 }, None)?;
    seg.match_active.store(0);
    seg.match_active.wake_all(); // the AI sleeps on it
    println!(
        "[server] match over after {tick} ticks: {MONSTERS} monsters defeated, {} hits reported",
        thousands(events)
    );
    wait_all(peers)?;

    // The analytics process wrote the leaderboard: it must agree with the server's tally.
    for entry in seg.leaderboard.to_vec().iter().take(PLAYERS as usize) {
        let expected = dealt[entry.player as usize] as u64;
        if entry.score != expected || entry.name != player_name(entry.player) {
            return Err(format!(
                "leaderboard says {} for player {}, the server counted {expected}",
                entry.score, entry.player
            )
            .into());
        }
    }
    println!("ok: the leaderboard matches the server's tally");
    Ok(())
}

fn ai(name: &str) -> Result<(), BoxError> {
    // Only what the AI needs, found by name and checked against the types it expects.
    let seg = Segment::open(name)?;
    let spawn_queue = Queue::<SpawnRequest, Mpsc>::open(&seg, "spawn_queue")?;
    let match_active = Atomic::<u32>::open(&seg, "match_active")?;
    let players_online = Atomic::<u32>::open(&seg, "players_online")?;
    println!("[ai] {} players online; asking for {MONSTERS} monsters", players_online.load());
    for i in 0..MONSTERS {
        let angle = i as f32 * 0.7;
        let req = SpawnRequest { kind: i, x: 60.0 * angle.cos(), y: 0.0, z: 60.0 * angle.sin() };
        spawn_queue.push(req, None)?; // waits while the queue is full
    }
    // Sleep (on a futex) until the server ends the match.
    while match_active.load() == 1 {
        match_active.wait(1, None)?;
    }
    let tick = Atomic::<u64>::open(&seg, "tick")?;
    println!("[ai] the match ended at tick {}", tick.load());
    Ok(())
}

fn analytics(name: &str) -> Result<(), BoxError> {
    let seg = Segment::open(name)?;
    // The segment describes itself: every structure's kind, element type and capacity.
    println!("[analytics] {name}: {} bytes, memory map:", thousands(seg.size()));
    println!("[analytics]   {:>8}  {:>7}  {:<6}  {:<14}  {:>8}  NAME", "OFFSET", "SIZE", "KIND", "ELEMENT", "CAPACITY");
    for e in seg.entries()? {
        let Some(d) = &e.descriptor else { continue };
        println!(
            "[analytics]   {:#08x}  {:>7}  {:<6}  {:<14}  {:>8}  {}",
            e.offset,
            e.size,
            d.kind.to_string(),
            d.type_name.as_deref().unwrap_or("-"),
            d.capacity,
            e.name
        );
    }
    // Opening a structure with the wrong element type is refused, not misread.
    if let Err(e) = Pool::<Player>::open(&seg, "monsters") {
        println!("[analytics] opening `monsters` as a pool of Player is refused:");
        for line in e.to_string().lines() {
            println!("[analytics]   {line}");
        }
    }

    let damage = Queue::<DamageEvent, Mpsc>::open(&seg, "damage_queue")?;
    let mut rx = damage.consumer()?; // the damage queue's one consumer
    let mut dealt = [0.0f32; PLAYERS as usize];
    let mut hits = 0u64;
    loop {
        let ev = rx.pop(None)?;
        if ev.tick == END_OF_MATCH {
            break;
        }
        dealt[ev.source as usize] += ev.amount;
        hits += 1;
    }
    println!("[analytics] {} hits consumed", thousands(hits));

    // The newest frames, read without disturbing the ring's producer.
    let frames = Ring::<FrameStats>::open(&seg, "frame_stats")?;
    let mut last = vec![FrameStats { tick: 0, frame_ns: 0, entities: 0, messages: 0 }; 60];
    let n = frames.get_last_n(60, &mut last);
    let avg_ns = last[..n].iter().map(|f| f.frame_ns).sum::<u64>() / n.max(1) as u64;
    println!("[analytics] last {n} frames: average {:.1} µs per tick", avg_ns as f64 / 1000.0);

    // The leaderboard, best first.
    let players = Atomic::<u32>::open(&seg, "players_online")?.load();
    let mut board: Vec<ScoreEntry> = (0..players)
        .map(|p| ScoreEntry { name: player_name(p), player: p, _pad20: 0, score: dealt[p as usize] as u64 })
        .collect();
    board.sort_by_key(|e| std::cmp::Reverse(e.score));
    let leaderboard = Array::<ScoreEntry>::open(&seg, "leaderboard")?;
    leaderboard.write_at(0, &board)?;
    for (rank, e) in board.iter().enumerate() {
        let name = String::from_utf8_lossy(&e.name);
        println!("[analytics] #{} {:<10} {} damage", rank + 1, name.trim_end_matches('\0'), e.score);
    }
    Ok(())
}
