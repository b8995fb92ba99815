//! The dispatch entry points: workgroup numbering, vkCmdDispatchBase, vkCmdDispatchIndirect,
//! limits, null and mistyped descriptors, the worker split and the kernel cache.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use renderer::{
    Buffer, ComputePipeline, DescriptorSet, Device, DeviceConfig, RendererError, WHOLE_SIZE,
};

struct Ids {
    slots: Buffer,
    count: Buffer,
    set: DescriptorSet,
}

fn ids_buffers(dev: &Device, workgroups: usize) -> Ids {
    let slots = buffer_zeroed::<u32>(dev, workgroups * 4 * 2);
    let count = buffer_zeroed::<u32>(dev, 1);
    let set = storage_set(&[&slots, &count]);
    Ids { slots, count, set }
}

fn ids_push(base: [u32; 3], total: [u32; 3]) -> Vec<u8> {
    words(&[base[0], base[1], base[2], 0, total[0], total[1], total[2]])
}

/// Every invocation of every workgroup ran exactly once and saw consistent ids.
fn check_ids(ids: &Ids, base: [u32; 3], groups: [u32; 3]) {
    let total = (groups[0] * groups[1] * groups[2]) as usize;
    assert_eq!(
        ids.count.read_vec::<u32>(0, 1).unwrap()[0] as usize,
        total * 4,
        "invocation count"
    );
    let slots: Vec<u32> = read_all(&ids.slots);
    for z in 0..groups[2] {
        for y in 0..groups[1] {
            for x in 0..groups[0] {
                let linear = (x + groups[0] * (y + groups[1] * z)) as usize;
                let id = (base[0] + x) + 1000 * (base[1] + y) + 1_000_000 * (base[2] + z);
                for local in 0..4 {
                    let s = (linear * 4 + local) * 2;
                    assert_eq!(
                        slots[s], 1,
                        "workgroup ({x},{y},{z}) invocation {local} ran {} times",
                        slots[s]
                    );
                    assert_eq!(
                        slots[s + 1],
                        id,
                        "ids seen by workgroup ({x},{y},{z}) invocation {local}"
                    );
                }
            }
        }
    }
}

fn ids_pipeline(dev: &Device) -> ComputePipeline {
    pipeline(dev, "workgroup_ids", &[])
}

#[test]
fn every_workgroup_of_a_3d_dispatch_runs_once_with_consistent_ids() {
    let dev = device();
    let p = ids_pipeline(dev);
    let groups = [5, 3, 7];
    let ids = ids_buffers(dev, 105);
    dev.dispatch(&p, &[&ids.set], &ids_push([0; 3], groups), groups)
        .unwrap();
    check_ids(&ids, [0; 3], groups);
}

#[test]
fn dispatch_base_offsets_workgroup_and_global_ids() {
    let dev = device();
    let p = ids_pipeline(dev);
    let (base, groups) = ([2, 1, 3], [3, 2, 2]);
    let ids = ids_buffers(dev, 12);
    dev.dispatch_base(&p, &[&ids.set], &ids_push(base, groups), base, groups)
        .unwrap();
    check_ids(&ids, base, groups);
}

#[test]
fn dispatch_indirect_reads_the_counts_from_the_buffer() {
    let dev = device();
    let p = ids_pipeline(dev);
    let groups = [4, 2, 3];
    let args = buffer_from(dev, &[0xFFFF_FFFFu32, groups[0], groups[1], groups[2]]);
    let ids = ids_buffers(dev, 24);
    dev.dispatch_indirect(&p, &[&ids.set], &ids_push([0; 3], groups), &args, 4)
        .unwrap();
    check_ids(&ids, [0; 3], groups);
    assert!(matches!(
        dev.dispatch_indirect(&p, &[&ids.set], &[], &args, 2),
        Err(RendererError::MisalignedIndirectOffset(2))
    ));
    assert!(matches!(
        dev.dispatch_indirect(&p, &[&ids.set], &[], &args, 8),
        Err(RendererError::OutOfRange { .. })
    ));
    let too_many = buffer_from(dev, &[65536u32, 1, 1]);
    assert!(dev
        .dispatch_indirect(&p, &[&ids.set], &[], &too_many, 0)
        .is_err());
}

#[test]
fn zero_workgroups_in_any_dimension_is_a_no_op() {
    let dev = device();
    let p = ids_pipeline(dev);
    let ids = ids_buffers(dev, 1);
    for groups in [[0, 1, 1], [1, 0, 1], [1, 1, 0], [0, 65535, 65535]] {
        dev.dispatch(&p, &[&ids.set], &[], groups).unwrap();
    }
    assert_eq!(ids.count.read_vec::<u32>(0, 1).unwrap(), vec![0]);
}

#[test]
fn counts_beyond_max_compute_workgroup_count_are_refused() {
    let dev = device();
    let p = ids_pipeline(dev);
    let ids = ids_buffers(dev, 1);
    for groups in [
        [65536, 1, 1],
        [1, 65536, 1],
        [1, 1, 65536],
        [u32::MAX, 1, 1],
    ] {
        assert!(
            matches!(
                dev.dispatch(&p, &[&ids.set], &[], groups),
                Err(RendererError::WorkgroupCountTooLarge { .. })
            ),
            "{groups:?}"
        );
    }
    let r = dev.dispatch_base(&p, &[&ids.set], &[], [65535, 0, 0], [1, 1, 1]);
    assert!(matches!(
        r,
        Err(RendererError::WorkgroupCountTooLarge { .. })
    ));
    assert_eq!(
        ids.count.read_vec::<u32>(0, 1).unwrap(),
        vec![0],
        "nothing ran"
    );
}

#[test]
fn maximum_one_dimensional_dispatch_runs_every_workgroup() {
    let dev = device();
    let p = pipeline(dev, "fill", &[("VALUE", "3")]);
    let n = 65535usize * 32;
    let out = buffer_zeroed::<u32>(dev, n);
    dev.dispatch(&p, &[&storage_set(&[&out])], &[], [65535, 1, 1])
        .unwrap();
    let got: Vec<u32> = read_all(&out);
    for (i, v) in got.iter().enumerate() {
        assert_eq!(*v, 3 * i as u32, "index {i}");
    }
}

#[test]
fn results_do_not_depend_on_the_number_of_worker_threads() {
    for threads in [1, 3] {
        let dev = Device::new(DeviceConfig {
            threads: Some(threads),
            ..config()
        })
        .unwrap();
        assert_eq!(dev.threads(), threads);
        let p = ids_pipeline(&dev);
        let groups = [17, 9, 2];
        let ids = ids_buffers(&dev, 17 * 9 * 2);
        dev.dispatch(&p, &[&ids.set], &ids_push([0; 3], groups), groups)
            .unwrap();
        check_ids(&ids, [0; 3], groups);
    }
    assert!(Device::new(DeviceConfig {
        threads: Some(0),
        ..config()
    })
    .is_err());
}

#[test]
fn unbound_buffer_is_a_null_descriptor_reads_zero_and_drops_writes() {
    let dev = device();
    let p = pipeline(dev, "saxpy", &[]);
    let y = buffer_from(dev, &[1.0f32, 2.0, 3.0, 4.0]);
    // x (binding 0) unbound: y = a * 0 + y.
    let mut set = DescriptorSet::new();
    set.bind_storage_buffer(1, 0, &y, 0, WHOLE_SIZE).unwrap();
    let pc = [2.0f32.to_le_bytes(), 4u32.to_le_bytes()].concat();
    dev.dispatch(&p, &[&set], &pc, [1, 1, 1]).unwrap();
    assert_eq!(read_all::<f32>(&y), vec![1.0, 2.0, 3.0, 4.0]);
    // No set at all: nothing to read or write, and no fault.
    dev.dispatch(&p, &[], &pc, [1, 1, 1]).unwrap();
}

#[test]
fn a_uniform_descriptor_where_the_shader_wants_a_storage_buffer_is_refused() {
    let dev = device();
    let p = pipeline(dev, "saxpy", &[]);
    let b = buffer_zeroed::<f32>(dev, 4);
    let mut set = DescriptorSet::new();
    set.bind_uniform_buffer(0, 0, &b, 0, WHOLE_SIZE).unwrap();
    set.bind_storage_buffer(1, 0, &b, 0, WHOLE_SIZE).unwrap();
    let r = dev.dispatch(&p, &[&set], &words(&[0, 4]), [1, 1, 1]);
    assert!(
        matches!(
            r,
            Err(RendererError::DescriptorTypeMismatch { binding: 0, .. })
        ),
        "{r:?}"
    );
}

#[test]
fn identical_modules_share_one_compiled_kernel_and_different_ones_do_not() {
    let dev = new_device();
    let a1 = pipeline(&dev, "fill", &[("VALUE", "11")]);
    assert_eq!(dev.cached_kernels(), 1);
    let a2 = pipeline(&dev, "fill", &[("VALUE", "11")]);
    assert_eq!(dev.cached_kernels(), 1);
    let b = pipeline(&dev, "fill", &[("VALUE", "12")]);
    assert_eq!(dev.cached_kernels(), 2);
    for (p, k) in [(&a1, 11u32), (&a2, 11), (&b, 12)] {
        let out = buffer_zeroed::<u32>(&dev, 64);
        dev.dispatch(p, &[&storage_set(&[&out])], &[], [2, 1, 1])
            .unwrap();
        assert_eq!(
            read_all::<u32>(&out),
            (0..64).map(|i| k * i).collect::<Vec<_>>()
        );
    }
    // Kernels live as long as some pipeline holds them; then their arena range is freed.
    drop((a1, a2));
    assert_eq!(dev.cached_kernels(), 1);
    drop(b);
    assert_eq!(dev.cached_kernels(), 0);
    let again = pipeline(&dev, "fill", &[("VALUE", "11")]);
    let out = buffer_zeroed::<u32>(&dev, 32);
    dev.dispatch(&again, &[&storage_set(&[&out])], &[], [1, 1, 1])
        .unwrap();
    assert_eq!(read_all::<u32>(&out)[31], 11 * 31);
}

#[test]
fn concurrent_dispatches_from_several_threads_all_complete_correctly() {
    let dev = device();
    let p = pipeline(dev, "fill", &[("VALUE", "5")]);
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let p = &p;
            s.spawn(move || {
                for _ in 0..10 {
                    let out = buffer_zeroed::<u32>(dev, 32 * 40);
                    dev.dispatch(p, &[&storage_set(&[&out])], &[], [40, 1, 1])
                        .unwrap();
                    let got: Vec<u32> = read_all(&out);
                    assert!(
                        got.iter().enumerate().all(|(i, v)| *v == 5 * i as u32),
                        "thread {t}"
                    );
                }
            });
        }
    });
}
