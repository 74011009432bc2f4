//! The process allocator: mimalloc, entered through plain `mi_malloc` whenever a plain block
//! already has the alignment. The mimalloc crate's own `GlobalAlloc` sends every allocation
//! through `mi_malloc_aligned`, a longer path that, for blocks above its small-size class or
//! on a fresh page, falls back to over-allocation (callgrind: ~6 % of a referral Bundle's
//! validation). Hash tables ask for 16-byte alignment, so that case matters as much as the
//! word-aligned one.

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

pub struct Allocator;

/// The alignment every mimalloc block has (`MI_INTPTR_SIZE`).
const WORD: usize = std::mem::size_of::<usize>();

/// The alignment of every mimalloc block of at least this many bytes (`MI_MAX_ALIGN_SIZE`):
/// on 64-bit targets mimalloc rounds such blocks to two-word size classes (`MI_ALIGN2W`) and
/// starts pages at this alignment.
const MAX_ALIGN: usize = 16;

/// Whether a plain `mi_malloc` block of `size` bytes is aligned to `align`.
#[inline]
fn plain_block_fits(size: usize, align: usize) -> bool {
    align <= WORD || (align <= MAX_ALIGN && size >= MAX_ALIGN)
}

unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's malloc functions accept any size; the alignment is either
        // guaranteed by the block's size class (see `plain_block_fits`) or requested explicitly.
        unsafe {
            if plain_block_fits(layout.size(), layout.align()) {
                mi::mi_malloc(layout.size()) as *mut u8
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        unsafe {
            if plain_block_fits(layout.size(), layout.align()) {
                mi::mi_zalloc(layout.size()) as *mut u8
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator, so from mimalloc; mi_free takes aligned
        // and plain blocks alike.
        unsafe { mi::mi_free(ptr as *mut c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout`; the new block keeps its
        // alignment, by guarantee (see `plain_block_fits`) or by request.
        unsafe {
            if plain_block_fits(new_size, layout.align()) {
                mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8
            } else {
                mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_have_the_requested_alignment_and_keep_their_contents() {
        let sizes = (1..=300).chain([1000, 1040, 5000, 70_000, 300_000, 5_000_000]);
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in sizes.clone() {
                let Ok(layout) = Layout::from_size_align(size, align) else {
                    continue;
                };
                // SAFETY: non-zero sizes; every block is freed with the layout it was made with.
                unsafe {
                    let p = Allocator.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    p.write_bytes(0xAB, size);
                    let q = Allocator.realloc(p, layout, size * 3);
                    assert_eq!(q as usize % align, 0, "realloc size {size} align {align}");
                    assert!((0..size).all(|i| *q.add(i) == 0xAB));
                    Allocator.dealloc(q, Layout::from_size_align_unchecked(size * 3, align));
                    let z = Allocator.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0);
                    assert!((0..size).all(|i| *z.add(i) == 0));
                    Allocator.dealloc(z, layout);
                }
            }
        }
    }
}
