//! Reading a field by name and attributing an address allocate nothing: the
//! detection engine reads millions of fields a second.

#![allow(clippy::unwrap_used, unsafe_code)] // a counting allocator needs `unsafe impl`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use tocsin_model::{Agency, AgencyKind, Attributor, Event, Inventory, Observer, Timestamp};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set on the test's thread while it measures: the harness's own
    /// threads allocate when they please (under load, during the window).
    static COUNTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.try_with(std::cell::Cell::get).unwrap_or(false) {
            ALLOCS.fetch_add(1, Relaxed);
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn field_reads_and_lookups_do_not_allocate() {
    let mut e = Event::new(
        Timestamp::received(chrono::Utc::now()),
        Observer::default(),
        "raw",
    );
    for (k, v) in [
        ("source.ip", "10.36.5.7"),
        ("url.original", "/a?b=c"),
        ("user.name", "admin"),
    ] {
        e.fields.insert(k, v);
    }
    let mut inv = Inventory::default();
    let mut a = Agency::new("STC", "Sở Tài chính", AgencyKind::Department);
    a.ranges.push("10.36.5.0/24".parse().unwrap());
    inv.agencies.push(a);
    let at = Attributor::build(&inv);
    let ip = "10.36.5.7".parse().unwrap();

    COUNTING.with(|c| c.set(true));
    let before = ALLOCS.load(Relaxed);
    let mut found = 0;
    for _ in 0..10_000 {
        found += usize::from(e.field("source.ip").is_some());
        found += usize::from(e.fields.get_str("user.name") == Some("admin"));
        found += usize::from(e.field("process.command_line").is_none());
        found += at.lookup(ip).agency.unwrap_or(9);
    }
    let after = ALLOCS.load(Relaxed);
    COUNTING.with(|c| c.set(false));
    assert_eq!(found, 30_000);
    assert_eq!(after - before, 0, "field reads allocated");
}
