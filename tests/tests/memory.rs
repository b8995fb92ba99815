//! Device memory is guest RAM seen by both sides: what the device writes is visible through
//! the application's mapping without any copy or invalidate, and sub-allocated buffers stay
//! apart.
#![allow(clippy::unwrap_used)]

mod common;

use ash::vk;

#[test]
fn device_writes_are_visible_through_the_mapping_without_copies() {
    let gpu = common::gpu();
    let d = &gpu.device;
    // One allocation, three buffers at different offsets (the app sub-allocates too).
    let size = 64 * 1024u64;
    let usage = vk::BufferUsageFlags::STORAGE_BUFFER
        | vk::BufferUsageFlags::TRANSFER_SRC
        | vk::BufferUsageFlags::TRANSFER_DST;
    let info = vk::BufferCreateInfo::default().size(size).usage(usage);
    // SAFETY: live device; the buffers are destroyed below.
    let bufs: Vec<vk::Buffer> = (0..3)
        .map(|_| unsafe { d.create_buffer(&info, None) }.unwrap())
        .collect();
    // SAFETY: live buffer.
    let req = unsafe { d.get_buffer_memory_requirements(bufs[0]) };
    let stride = req.size.div_ceil(req.alignment) * req.alignment;
    let alloc = vk::MemoryAllocateInfo::default()
        .allocation_size(stride * 3)
        .memory_type_index(gpu.memory_type);
    // SAFETY: live device.
    let mem = unsafe { d.allocate_memory(&alloc, None) }.unwrap();
    for (i, b) in bufs.iter().enumerate() {
        // SAFETY: offsets are multiples of the alignment and within the allocation.
        unsafe { d.bind_buffer_memory(*b, mem, stride * i as u64) }.unwrap();
    }
    // Mapped once, before any work; never unmapped or invalidated in between.
    // SAFETY: host-visible memory.
    let ptr = unsafe { d.map_memory(mem, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty()) }
        .unwrap()
        .cast::<u32>();
    let words = (size / 4) as usize;
    let read = |buffer: usize, i: usize| -> u32 {
        // SAFETY: within the mapping: buffer < 3, i < words, stride ≥ size.
        unsafe { ptr.add(buffer * (stride / 4) as usize + i).read_volatile() }
    };
    // The host writes buffer 0 through the mapping.
    for i in 0..words {
        // SAFETY: as for `read`.
        unsafe { ptr.add(i).write_volatile(i as u32 * 3) };
    }
    let update: Vec<u8> = (0..16u32).flat_map(|v| (v + 100).to_le_bytes()).collect();
    gpu.submit_and_wait(|cb| {
        // SAFETY: recording; buffers are live and large enough.
        unsafe {
            d.cmd_fill_buffer(cb, bufs[1], 0, vk::WHOLE_SIZE, 0xdead_beef);
            d.cmd_copy_buffer(
                cb,
                bufs[0],
                bufs[2],
                &[vk::BufferCopy {
                    src_offset: 4,
                    dst_offset: 8,
                    size: 4096,
                }],
            );
            d.cmd_update_buffer(cb, bufs[1], 64, &update);
        }
    })
    .unwrap();
    for i in 0..words {
        let want = if (16..32).contains(&i) {
            i as u32 - 16 + 100
        } else {
            0xdead_beef
        };
        assert_eq!(read(1, i), want, "fill/update word {i}");
    }
    for i in 0..words {
        let want = if (2..2 + 1024).contains(&i) {
            (i as u32 - 1) * 3
        } else {
            0
        };
        assert_eq!(read(2, i), want, "copy word {i}");
    }
    assert_eq!(read(0, 5), 15, "the source is untouched");
    // SAFETY: the work is done.
    unsafe {
        d.unmap_memory(mem);
        for b in bufs {
            d.destroy_buffer(b, None);
        }
        d.free_memory(mem, None);
    }
}
