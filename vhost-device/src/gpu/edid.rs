//! The EDID (VESA E-EDID 1.4, one 128-byte base block) of our one headless 1280×800 scanout,
//! answered to `GET_EDID`.

use super::{SCANOUT_HEIGHT, SCANOUT_WIDTH};

/// Builds the base block: header, vendor "SGP", a 1280×800@60 CVT reduced-blanking detailed
/// timing as the preferred mode, a monitor name and range limits, and the checksum.
pub fn edid_1280x800() -> [u8; 128] {
    let mut e = [0u8; 128];
    e[0..8].copy_from_slice(&[0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00]);
    // Manufacturer "SGP": three 5-bit letters, big-endian.
    let id: u16 = ((b'S' - b'@') as u16) << 10 | ((b'G' - b'@') as u16) << 5 | (b'P' - b'@') as u16;
    e[8..10].copy_from_slice(&id.to_be_bytes());
    e[10..12].copy_from_slice(&1u16.to_le_bytes()); // product code
    e[16] = 1; // week
    e[17] = 36; // 2026 - 1990
    e[18] = 1; // EDID 1.4
    e[19] = 4;
    e[20] = 0x80; // digital input, depth and interface undefined
    e[21] = 26; // 26 × 16 cm
    e[22] = 16;
    e[23] = 120; // gamma 2.2
    e[24] = 0x06; // RGB 4:4:4, sRGB default, preferred timing is native
    e[25..35].copy_from_slice(&[0xee, 0x91, 0xa3, 0x54, 0x4c, 0x99, 0x26, 0x0f, 0x50, 0x54]);
    for i in 0..8 {
        // Standard timings unused.
        e[38 + 2 * i] = 0x01;
        e[38 + 2 * i + 1] = 0x01;
    }
    e[54..72].copy_from_slice(&detailed_timing());
    // Monitor name descriptor.
    e[72..77].copy_from_slice(&[0, 0, 0, 0xfc, 0]);
    let mut name = [b' '; 13];
    name[..8].copy_from_slice(b"softgpu\n");
    e[77..90].copy_from_slice(&name);
    // Range limits: 50–75 Hz, 30–80 kHz, 80 MHz, no extended timing formula.
    e[90..108].copy_from_slice(&[
        0, 0, 0, 0xfd, 0, 50, 75, 30, 80, 8, 0x00, 0x0a, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    ]);
    // Dummy descriptor.
    e[108..113].copy_from_slice(&[0, 0, 0, 0x10, 0]);
    e[126] = 0; // no extension blocks
    let sum = e[..127].iter().fold(0u8, |a, &b| a.wrapping_add(b));
    e[127] = 0u8.wrapping_sub(sum);
    e
}

/// 1280×800@60 Hz CVT-RB: 71.00 MHz, blanking 160/23, sync 48+32 (+hsync) / 3+6 (−vsync).
fn detailed_timing() -> [u8; 18] {
    const CLOCK_10KHZ: u16 = 7100;
    const H_BLANK: u32 = 160;
    const V_BLANK: u32 = 23;
    let (h, v) = (SCANOUT_WIDTH, SCANOUT_HEIGHT);
    let (h_mm, v_mm) = (261u32, 163u32);
    let c = CLOCK_10KHZ.to_le_bytes();
    [
        c[0],
        c[1],
        (h & 0xff) as u8,
        (H_BLANK & 0xff) as u8,
        (((h >> 8) & 0xf) << 4 | ((H_BLANK >> 8) & 0xf)) as u8,
        (v & 0xff) as u8,
        (V_BLANK & 0xff) as u8,
        (((v >> 8) & 0xf) << 4 | ((V_BLANK >> 8) & 0xf)) as u8,
        48,           // h sync offset
        32,           // h sync width
        (3 << 4) | 6, // v sync offset, width
        0,
        (h_mm & 0xff) as u8,
        (v_mm & 0xff) as u8,
        (((h_mm >> 8) & 0xf) << 4 | ((v_mm >> 8) & 0xf)) as u8,
        0,
        0,
        0x1a, // digital separate sync, +hsync, -vsync
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;

    #[test]
    fn edid_checksums_to_zero_and_names_the_preferred_mode() {
        let e = edid_1280x800();
        assert_eq!(e.iter().fold(0u8, |a, &b| a.wrapping_add(b)), 0);
        assert_eq!(&e[0..8], &[0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]);
        let dtd = &e[54..72];
        let h_active = u32::from(dtd[2]) | (u32::from(dtd[4] >> 4) << 8);
        let v_active = u32::from(dtd[5]) | (u32::from(dtd[7] >> 4) << 8);
        assert_eq!((h_active, v_active), (1280, 800));
        let clock_hz = u64::from(u16::from_le_bytes([dtd[0], dtd[1]])) * 10_000;
        let h_total = 1280 + 160;
        let v_total = 800 + 23;
        let refresh = clock_hz as f64 / (h_total * v_total) as f64;
        assert!((refresh - 60.0).abs() < 0.5, "refresh {refresh}");
    }
}
