//! The display side (QEMU's vhost-user-gpu protocol, `docs/interop/vhost-user-gpu.rst`): what
//! the guest scans out is sent to the VMM as `SCANOUT` + `UPDATE` messages with x8r8g8b8
//! pixels, and the cursor as `CURSOR_POS` / `CURSOR_POS_HIDE` / `CURSOR_UPDATE`. Without a
//! display socket (the host transport, or a VMM that does not hand one over) the device is
//! headless and these are simply not sent.

use std::io;

use vhost::vhost_user::gpu_message::{
    VhostUserGpuCursorPos, VhostUserGpuCursorUpdate, VhostUserGpuScanout, VhostUserGpuUpdate,
};
use vhost::vhost_user::GpuBackend;
use virtio_bindings::virtio_gpu as vg;

/// Cursor images are 64×64 pixels, 4 bytes each (VIRTIO 1.2 §5.7.6.10).
pub const CURSOR_SIZE: usize = 64 * 64 * 4;

/// Where scanouts and the cursor go.
pub trait Display: Send {
    /// The scanout now shows a `width`×`height` image (0×0: disabled).
    fn scanout(&self, scanout: u32, width: u32, height: u32) -> io::Result<()>;
    /// New pixels (x8r8g8b8, rows of `width`) for a rectangle of the scanout.
    fn update(
        &self,
        scanout: u32,
        x: u32,
        y: u32,
        width: u32,
        height: u32,
        pixels: &[u8],
    ) -> io::Result<()>;
    fn cursor_move(&self, scanout: u32, x: u32, y: u32) -> io::Result<()>;
    fn cursor_hide(&self, scanout: u32) -> io::Result<()>;
    /// A new cursor image (64×64, `CURSOR_SIZE` bytes, a8r8g8b8) with its hot spot.
    fn cursor_image(
        &self,
        scanout: u32,
        x: u32,
        y: u32,
        hot_x: u32,
        hot_y: u32,
        image: &[u8; CURSOR_SIZE],
    ) -> io::Result<()>;
}

impl Display for GpuBackend {
    fn scanout(&self, scanout: u32, width: u32, height: u32) -> io::Result<()> {
        self.set_scanout(&VhostUserGpuScanout {
            scanout_id: scanout,
            width,
            height,
        })
    }

    fn update(
        &self,
        scanout: u32,
        x: u32,
        y: u32,
        width: u32,
        height: u32,
        pixels: &[u8],
    ) -> io::Result<()> {
        self.update_scanout(
            &VhostUserGpuUpdate {
                scanout_id: scanout,
                x,
                y,
                width,
                height,
            },
            pixels,
        )
    }

    fn cursor_move(&self, scanout: u32, x: u32, y: u32) -> io::Result<()> {
        self.cursor_pos(&VhostUserGpuCursorPos {
            scanout_id: scanout,
            x,
            y,
        })
    }

    fn cursor_hide(&self, scanout: u32) -> io::Result<()> {
        self.cursor_pos_hide(&VhostUserGpuCursorPos {
            scanout_id: scanout,
            x: 0,
            y: 0,
        })
    }

    fn cursor_image(
        &self,
        scanout: u32,
        x: u32,
        y: u32,
        hot_x: u32,
        hot_y: u32,
        image: &[u8; CURSOR_SIZE],
    ) -> io::Result<()> {
        self.cursor_update(
            &VhostUserGpuCursorUpdate {
                pos: VhostUserGpuCursorPos {
                    scanout_id: scanout,
                    x,
                    y,
                },
                hot_x,
                hot_y,
            },
            image,
        )
    }
}

/// Byte positions of (blue, green, red, alpha-or-unused) in one pixel of a virtio-gpu 2D
/// format; `None` for a format we do not know.
pub fn channel_order(format: u32) -> Option<[usize; 4]> {
    Some(match format {
        vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM
        | vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM => [0, 1, 2, 3],
        vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM
        | vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM => [3, 2, 1, 0],
        vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM
        | vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM => [2, 1, 0, 3],
        vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM
        | vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM => [1, 2, 3, 0],
        _ => return None,
    })
}

/// Converts a rectangle of an image in `format` (rows of `stride` bytes) to x8r8g8b8 (bytes
/// B, G, R, X in memory — what QEMU's UPDATE carries). The caller has checked the rectangle.
pub fn to_x8r8g8b8(
    image: &[u8],
    stride: usize,
    format: u32,
    x: u32,
    y: u32,
    width: u32,
    height: u32,
) -> Vec<u8> {
    let order = channel_order(format).unwrap_or([0, 1, 2, 3]);
    let mut out = Vec::with_capacity(width as usize * height as usize * 4);
    for row in y as usize..(y + height) as usize {
        let start = row * stride + x as usize * 4;
        let Some(line) = image.get(start..start + width as usize * 4) else {
            break;
        };
        for px in line.chunks_exact(4) {
            out.extend_from_slice(&[px[order[0]], px[order[1]], px[order[2]], 0xff]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_2d_format_converts_to_x8r8g8b8() {
        // One pixel with blue 1, green 2, red 3, alpha 4, laid out per format.
        let cases = [
            (
                vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM,
                [1, 2, 3, 4],
            ),
            (
                vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM,
                [1, 2, 3, 0],
            ),
            (
                vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM,
                [4, 3, 2, 1],
            ),
            (
                vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM,
                [0, 3, 2, 1],
            ),
            (
                vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM,
                [3, 2, 1, 4],
            ),
            (
                vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM,
                [3, 2, 1, 0],
            ),
            (
                vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM,
                [4, 1, 2, 3],
            ),
            (
                vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM,
                [0, 1, 2, 3],
            ),
        ];
        for (format, px) in cases {
            assert_eq!(
                to_x8r8g8b8(&px, 4, format, 0, 0, 1, 1),
                [1, 2, 3, 0xff],
                "format {format}"
            );
        }
    }

    /// The messages QEMU reads: `{u32 request, u32 flags, u32 size}` + payload
    /// (docs/interop/vhost-user-gpu.rst; SCANOUT = 7, UPDATE = 8, CURSOR_POS = 4).
    #[test]
    fn display_messages_are_framed_as_qemu_expects() {
        use std::io::Read;
        use std::os::unix::net::UnixStream;
        let (ours, mut qemu) = UnixStream::pair().unwrap();
        let d: Box<dyn Display> = Box::new(GpuBackend::from_stream(ours));
        d.scanout(0, 1280, 800).unwrap();
        d.update(0, 2, 3, 1, 1, &[9, 8, 7, 0xff]).unwrap();
        d.cursor_move(0, 5, 6).unwrap();
        let mut words = |n: usize| -> Vec<u32> {
            let mut b = vec![0u8; 4 * n];
            qemu.read_exact(&mut b).unwrap();
            b.chunks(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        assert_eq!(words(3 + 3), [7, 0, 12, 0, 1280, 800]);
        assert_eq!(
            words(3 + 5 + 1),
            [8, 0, 24, 0, 2, 3, 1, 1, u32::from_le_bytes([9, 8, 7, 0xff])]
        );
        assert_eq!(words(3 + 3), [4, 0, 12, 0, 5, 6]);
    }

    #[test]
    fn a_sub_rectangle_is_cut_out_row_by_row() {
        // 3×2 image of B8G8R8X8 pixels whose blue byte is the pixel index.
        let image: Vec<u8> = (0..6u8).flat_map(|i| [i, 0, 0, 0]).collect();
        let out = to_x8r8g8b8(
            &image,
            12,
            vg::virtio_gpu_formats_VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM,
            1,
            0,
            2,
            2,
        );
        let blues: Vec<u8> = out.chunks(4).map(|p| p[0]).collect();
        assert_eq!(blues, [1, 2, 4, 5]);
    }
}
