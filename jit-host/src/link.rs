//! Turns the back end's ELF object into a [`LinkedBlob`]: one text image, one constant image,
//! and the PC-relative fixups between them, ready for the supervisor to place.
//!
//! Accepted input, and nothing else (DESIGN §4, "No relocations"):
//! * an x86-64 little-endian ELF relocatable object;
//! * allocated sections that are executable (`.text*`, concatenated into the text) or
//!   read-only `PROGBITS` named `.rodata*` (concatenated into the constants); `.eh_frame`
//!   and every non-allocated section are dropped;
//! * relocations only in text, only `R_X86_64_PC32` (text→text or text→rodata) and
//!   `R_X86_64_PLT32` to text (a direct call; there is no PLT);
//! * no undefined or common symbols, no TLS, no writable data; every section aligned to at
//!   most [`ARENA_ALIGN`] (the arena's placement granularity preserves it);
//! * a global entry symbol (`abi::entry_symbol` of the module's stage) defined in text.
//!
//! Text→text relocations are resolved here; text→rodata ones become [`Fixup`]s.

use std::collections::HashMap;

use object::elf::{
    R_X86_64_PC32, R_X86_64_PLT32, SHF_ALLOC, SHF_EXECINSTR, SHF_TLS, SHF_WRITE, SHT_PROGBITS,
};
use object::read::elf::{ElfFile64, FileHeader, SectionHeader};
use object::{
    LittleEndian, Object, ObjectKind, ObjectSection, ObjectSymbol, RelocationFlags,
    RelocationTarget, SectionIndex, SymbolSection,
};
use serde::{Deserialize, Serialize};
use shader::abi::COMPUTE_ENTRY_SYMBOL;

use crate::arena::ARENA_ALIGN;

/// Largest text or constant image we link (far below the code region size).
pub const MAX_IMAGE_SIZE: u64 = 64 << 20;

/// A 32-bit PC-relative reference from text to constants. The placer writes, as a
/// little-endian `i32` at `text[at..at + 4]`:
/// `(address of rodata[0] + target) - (address of text[0] + at)`.
/// (`target` already includes the ELF addend, e.g. the usual -4.)
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fixup {
    pub at: u32,
    pub target: i64,
}

/// A linked kernel, independent of where it will be placed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LinkedBlob {
    pub text: Vec<u8>,
    /// Constants; placed at an [`ARENA_ALIGN`]-aligned address.
    pub rodata: Vec<u8>,
    pub fixups: Vec<Fixup>,
    /// Offset of the entry point in `text`.
    pub entry_offset: u32,
    pub scratch_size: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("not a readable ELF object: {0}")]
    Parse(#[from] object::Error),
    #[error("not an x86-64 relocatable object")]
    WrongKind,
    #[error("section {0} is not code or read-only constants")]
    UnsupportedSection(String),
    #[error("section {0} is writable; kernels have no mutable globals")]
    WritableSection(String),
    #[error("section {0} is thread-local")]
    TlsSection(String),
    #[error("section {name} needs alignment {align}, more than {ARENA_ALIGN}")]
    Alignment { name: String, align: u64 },
    #[error("symbol {0:?} is undefined (no libcalls or externals may remain)")]
    UndefinedSymbol(String),
    #[error("symbol {0:?} is common or absolute")]
    UnplacedSymbol(String),
    #[error("relocation type {r_type} at {section}+{offset:#x} is not allowed")]
    UnsupportedRelocation {
        section: String,
        offset: u64,
        r_type: u32,
    },
    #[error("relocation at {section}+{offset:#x} targets something that is not placed")]
    BadTarget { section: String, offset: u64 },
    #[error("relocation at {section}+{offset:#x} is out of range")]
    OutOfRange { section: String, offset: u64 },
    #[error("section {0} carries relocations; only code may")]
    RelocatedData(String),
    #[error("no global {0} defined in code")]
    MissingEntry(String),
    #[error("linked image too large")]
    TooLarge,
}

type Result<T> = std::result::Result<T, LinkError>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Region {
    Text,
    Rodata,
}

/// Where each kept section went.
type Placement = HashMap<SectionIndex, (Region, u64)>;

/// Links one compute kernel object (see the module docs for what is accepted).
pub fn link_object(bytes: &[u8], scratch_size: u32) -> Result<LinkedBlob> {
    link_entry(bytes, COMPUTE_ENTRY_SYMBOL, scratch_size)
}

/// Links one object whose entry point is the global symbol `entry`
/// (`shader::abi::entry_symbol` of its stage).
pub fn link_entry(bytes: &[u8], entry: &str, scratch_size: u32) -> Result<LinkedBlob> {
    let file = ElfFile64::<LittleEndian>::parse(bytes)?;
    if file.architecture() != object::Architecture::X86_64 || file.kind() != ObjectKind::Relocatable
    {
        return Err(LinkError::WrongKind);
    }
    let endian = file.endian();
    if file.elf_header().e_machine(endian) != object::elf::EM_X86_64 {
        return Err(LinkError::WrongKind);
    }

    let mut placement = Placement::new();
    let mut text = Vec::new();
    let mut rodata = Vec::new();
    for section in file.sections() {
        let header = section.elf_section_header();
        let flags = header.sh_flags(endian);
        if u64::from(SHF_ALLOC) & flags == 0 {
            continue;
        }
        let name = section.name()?.to_owned();
        if flags & u64::from(SHF_TLS) != 0 {
            return Err(LinkError::TlsSection(name));
        }
        if flags & u64::from(SHF_WRITE) != 0 {
            return Err(LinkError::WritableSection(name));
        }
        let region =
            if flags & u64::from(SHF_EXECINSTR) != 0 && header.sh_type(endian) == SHT_PROGBITS {
                Region::Text
            } else if name == ".eh_frame" {
                // Unwind tables: nothing unwinds through kernels.
                continue;
            } else if header.sh_type(endian) == SHT_PROGBITS
                && (name == ".rodata" || name.starts_with(".rodata."))
            {
                Region::Rodata
            } else {
                return Err(LinkError::UnsupportedSection(name));
            };
        let align = section.align().max(1);
        if !align.is_power_of_two() || align > ARENA_ALIGN {
            return Err(LinkError::Alignment { name, align });
        }
        let image = if region == Region::Text {
            &mut text
        } else {
            &mut rodata
        };
        let fill = if region == Region::Text { 0xcc } else { 0 };
        let start = (image.len() as u64).next_multiple_of(align);
        let data = section.data()?;
        if start + data.len() as u64 > MAX_IMAGE_SIZE {
            return Err(LinkError::TooLarge);
        }
        image.resize(start as usize, fill);
        image.extend_from_slice(data);
        placement.insert(section.index(), (region, start));
    }

    for symbol in file.symbols() {
        if symbol.is_undefined() {
            return Err(LinkError::UndefinedSymbol(
                symbol.name().unwrap_or("?").to_owned(),
            ));
        }
        if symbol.is_common() {
            return Err(LinkError::UnplacedSymbol(
                symbol.name().unwrap_or("?").to_owned(),
            ));
        }
    }

    let entry_offset = entry_point(&file, &placement, text.len(), entry)?;
    let fixups = apply_relocations(&file, &placement, &mut text)?;
    Ok(LinkedBlob {
        text,
        rodata,
        fixups,
        entry_offset,
        scratch_size,
    })
}

fn entry_point(
    file: &ElfFile64<'_, LittleEndian>,
    placement: &Placement,
    text_len: usize,
    name: &str,
) -> Result<u32> {
    let missing = || LinkError::MissingEntry(name.to_string());
    let entry = file
        .symbols()
        .find(|s| s.name() == Ok(name) && s.is_global() && s.is_definition())
        .ok_or_else(missing)?;
    let SymbolSection::Section(index) = entry.section() else {
        return Err(missing());
    };
    match placement.get(&index) {
        Some(&(Region::Text, base)) => {
            let offset = base
                .checked_add(entry.address())
                .filter(|&o| o < text_len as u64);
            offset
                .and_then(|o| u32::try_from(o).ok())
                .ok_or_else(missing)
        }
        _ => Err(missing()),
    }
}

/// Resolves text→text relocations in `text` and returns the text→rodata fixups.
fn apply_relocations(
    file: &ElfFile64<'_, LittleEndian>,
    placement: &Placement,
    text: &mut [u8],
) -> Result<Vec<Fixup>> {
    let mut fixups = Vec::new();
    for section in file.sections() {
        let Some(&(region, base)) = placement.get(&section.index()) else {
            continue;
        };
        let name = || section.name().unwrap_or("?").to_owned();
        for (offset, reloc) in section.relocations() {
            if region == Region::Rodata {
                return Err(LinkError::RelocatedData(name()));
            }
            let r_type = match reloc.flags() {
                RelocationFlags::Elf { r_type } => r_type,
                _ => 0,
            };
            if (r_type != R_X86_64_PC32 && r_type != R_X86_64_PLT32) || reloc.has_implicit_addend()
            {
                return Err(LinkError::UnsupportedRelocation {
                    section: name(),
                    offset,
                    r_type,
                });
            }
            let bad_target = || LinkError::BadTarget {
                section: name(),
                offset,
            };
            let (target_section, target_offset) = match reloc.target() {
                RelocationTarget::Symbol(index) => {
                    let symbol = file.symbol_by_index(index)?;
                    if symbol.is_undefined() {
                        return Err(LinkError::UndefinedSymbol(
                            symbol.name().unwrap_or("?").to_owned(),
                        ));
                    }
                    match symbol.section() {
                        SymbolSection::Section(s) => (s, symbol.address()),
                        _ => return Err(bad_target()),
                    }
                }
                RelocationTarget::Section(s) => (s, 0),
                _ => return Err(bad_target()),
            };
            let &(target_region, target_base) =
                placement.get(&target_section).ok_or_else(bad_target)?;
            let out_of_range = || LinkError::OutOfRange {
                section: name(),
                offset,
            };
            let site = base
                .checked_add(offset)
                .filter(|p| p + 4 <= text.len() as u64)
                .ok_or_else(out_of_range)?;
            let site = u32::try_from(site).map_err(|_| out_of_range())?;
            let symbol_at = target_base
                .checked_add(target_offset)
                .ok_or_else(out_of_range)? as i64;
            let target = symbol_at
                .checked_add(reloc.addend())
                .ok_or_else(out_of_range)?;
            match target_region {
                Region::Text => {
                    let value =
                        i32::try_from(target - i64::from(site)).map_err(|_| out_of_range())?;
                    let at = site as usize;
                    text[at..at + 4].copy_from_slice(&value.to_le_bytes());
                }
                Region::Rodata if r_type == R_X86_64_PC32 => {
                    fixups.push(Fixup { at: site, target })
                }
                Region::Rodata => {
                    return Err(LinkError::UnsupportedRelocation {
                        section: name(),
                        offset,
                        r_type,
                    })
                }
            }
        }
    }
    Ok(fixups)
}
