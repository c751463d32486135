//! The SMP server: one request packet in, one response packet out, over an
//! [`UpdateService`]. Image management (group 1) and OS management (group 0), with the
//! semantics mcumgr tools expect from an MCUboot device; `docs/smp.md` has the details and the
//! error table.
//!
//! Components are image numbers. Slot 0 of an image is the component's active image; slot 1
//! the image in its second slot (a download verified at `finish`). An upload is `start`,
//! `write`s and, with its last byte, `finish`; `test` is `install`, `confirm` is `accept`;
//! `erase` is `cancel` and `clean`.

use crate::header::{Header, Op, VERSION_2};
use crate::service::UpdateService;
use crate::status::{group, image_reply, img, mgmt, Reply};
use fwu_shared::component::{
    PSA_FWU_CANDIDATE, PSA_FWU_FAILED, PSA_FWU_READY, PSA_FWU_REJECTED, PSA_FWU_STAGED,
    PSA_FWU_TRIAL, PSA_FWU_UPDATED, PSA_FWU_WRITING,
};
use fwu_shared::ImageVersion;
use fwu_updater::{ComponentId, PSA_FWU_MAX_WRITE_SIZE};
use minicbor::data::Type;
use minicbor::encode::write::{Cursor, EndOfSlice};
use minicbor::{Decoder, Encoder};

/// Image management command ids.
mod image_cmd {
    pub const STATE: u8 = 0;
    pub const UPLOAD: u8 = 1;
    pub const ERASE: u8 = 5;
    pub const SLOT_INFO: u8 = 6;
}

/// OS management command ids.
mod os_cmd {
    pub const ECHO: u8 = 0;
    pub const RESET: u8 = 5;
    pub const PARAMS: u8 = 6;
    pub const INFO: u8 = 7;
    pub const BOOTLOADER_INFO: u8 = 8;
}

/// What the caller must do after sending a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// Nothing.
    Nothing,
    /// Reset the device (OS reset): call `request_reboot` once the response is out.
    Reset,
}

/// An upload in progress: what its first chunk said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Upload {
    image: ComponentId,
    len: u32,
    sha: Option<[u8; 32]>,
    /// The next image offset the device expects.
    next: u32,
}

/// The SMP server over `svc` for the components `images` (image numbers).
pub struct Server<'a, S: UpdateService> {
    svc: &'a S,
    images: &'a [ComponentId],
    upload: Option<Upload>,
    /// The `buf_size` reported by MCUmgr parameters: the largest request packet accepted.
    buf_size: u16,
    /// The application's description for OS info.
    app: &'a str,
}

/// A response under construction.
type Enc<'b> = Encoder<Cursor<&'b mut [u8]>>;
/// A CBOR encoding error (the response buffer is full).
type EncError = minicbor::encode::Error<EndOfSlice>;

/// The result of a handler: a body written, or an error answer.
type Handled = Result<(), Reply>;

/// A request decoding error: the body is not the CBOR the command expects.
fn bad_request<E>(_: E) -> Reply {
    Reply::mgmt(mgmt::EINVAL)
}

/// A response that did not fit.
fn too_big(_: EncError) -> Reply {
    Reply::mgmt(mgmt::EMSGSIZE)
}

/// The fields of an upload request.
#[derive(Default)]
struct UploadRequest<'r> {
    image: Option<u32>,
    len: Option<u32>,
    off: Option<u32>,
    data: Option<&'r [u8]>,
    sha: Option<&'r [u8]>,
}

/// Call `f` for each `key: value` of the CBOR map at `d` (definite or indefinite), with the
/// decoder positioned at the value; `f` must consume it (or `skip` it).
fn for_each_entry<'b>(
    d: &mut Decoder<'b>,
    mut f: impl FnMut(&str, &mut Decoder<'b>) -> Result<(), minicbor::decode::Error>,
) -> Result<(), minicbor::decode::Error> {
    let len = d.map()?;
    let mut i = 0u64;
    loop {
        match len {
            Some(n) if i >= n => break,
            None if d.datatype()? == Type::Break => {
                d.skip()?;
                break;
            }
            _ => {}
        }
        let key = d.str()?;
        f(key, d)?;
        i += 1;
    }
    Ok(())
}

impl<'a, S: UpdateService> Server<'a, S> {
    /// A server over `svc` for `images` (component ids, image numbers in SMP), accepting
    /// request packets of up to `buf_size` bytes; `app` is what OS info reports.
    pub fn new(svc: &'a S, images: &'a [ComponentId], buf_size: u16, app: &'a str) -> Self {
        Server {
            svc,
            images,
            upload: None,
            buf_size,
            app,
        }
    }

    /// The reset an OS reset request asked for, once its answer is sent: the service's
    /// `request_reboot` (which does not return when the reset hook resets).
    pub async fn reset(&mut self) {
        let _reboot_failed_answer_already_sent = self.svc.request_reboot().await;
    }

    /// Answer the request `packet` into `out`; returns the response's length (0: nothing to
    /// send, the packet was a response or too malformed to answer) and what to do after it is
    /// sent.
    pub async fn handle(&mut self, packet: &[u8], out: &mut [u8]) -> (usize, After) {
        let Ok((h, body)) = Header::parse(packet) else {
            return (0, After::Nothing);
        };
        let Some(rh) = h.response(0) else {
            return (0, After::Nothing);
        };
        let (head, rest) = out.split_at_mut(out.len().min(crate::header::HEADER_LEN));
        if head.len() < crate::header::HEADER_LEN {
            return (0, After::Nothing);
        }
        let mut after = After::Nothing;
        let mut e = Encoder::new(Cursor::new(&mut rest[..]));
        let result = self.dispatch(&h, body, &mut e, &mut after).await;
        let len = match result {
            Ok(()) => e.writer().position(),
            Err(reply) => {
                let mut e = Encoder::new(Cursor::new(&mut rest[..]));
                match write_error(&mut e, &h, reply) {
                    Ok(()) => e.writer().position(),
                    Err(_) => 0,
                }
            }
        };
        let Some(rh) = u16::try_from(len)
            .ok()
            .and_then(|l| h.response(l))
            .or(Some(rh))
        else {
            return (0, After::Nothing);
        };
        head.copy_from_slice(&rh.to_bytes());
        (crate::header::HEADER_LEN + len, after)
    }

    async fn dispatch(
        &mut self,
        h: &Header,
        body: &[u8],
        e: &mut Enc<'_>,
        after: &mut After,
    ) -> Handled {
        match (h.group, h.op, h.id) {
            (group::IMAGE, Op::Read, image_cmd::STATE) => self.image_state(e).await,
            (group::IMAGE, Op::Write, image_cmd::STATE) => self.image_state_write(body, e).await,
            (group::IMAGE, Op::Write, image_cmd::UPLOAD) => self.upload(h, body, e).await,
            (group::IMAGE, Op::Write, image_cmd::ERASE) => self.erase(body, e).await,
            (group::IMAGE, Op::Read, image_cmd::SLOT_INFO) => self.slot_info(e).await,
            (group::OS, _, os_cmd::ECHO) => echo(body, e),
            (group::OS, Op::Write, os_cmd::RESET) => {
                *after = After::Reset;
                e.map(0).map_err(too_big)?;
                Ok(())
            }
            (group::OS, Op::Read, os_cmd::PARAMS) => {
                e.map(2)
                    .and_then(|e| e.str("buf_size")?.u16(self.buf_size))
                    .and_then(|e| e.str("buf_count")?.u8(1))
                    .map_err(too_big)?;
                Ok(())
            }
            (group::OS, Op::Read, os_cmd::INFO) => {
                e.map(1)
                    .and_then(|e| e.str("output")?.str(self.app))
                    .map_err(too_big)?;
                Ok(())
            }
            (group::OS, Op::Read, os_cmd::BOOTLOADER_INFO) => bootloader_info(body, e),
            _ => Err(Reply::mgmt(mgmt::ENOTSUP)),
        }
    }

    fn check_image(&self, image: u32) -> Result<ComponentId, Reply> {
        u8::try_from(image)
            .ok()
            .filter(|c| self.images.contains(c))
            .ok_or(Reply::image(mgmt::ENOENT, img::INVALID_SLOT))
    }

    /// Image state read: per image, slot 0 (the active image) and, when there is one, slot 1.
    async fn image_state(&mut self, e: &mut Enc<'_>) -> Handled {
        let mut entries = 0u64;
        for &c in self.images {
            entries += 1;
            let info = self.svc.query(c).await.map_err(image_reply)?;
            if slot1_present(info.state) {
                entries += 1;
            }
        }
        e.map(2)
            .and_then(|e| e.str("images")?.array(entries))
            .map_err(too_big)?;
        for &c in self.images {
            let info = self.svc.query(c).await.map_err(image_reply)?;
            let active = self.svc.active_digest(c).await.map_err(image_reply)?;
            let confirmed = info.state != PSA_FWU_TRIAL;
            image_entry(
                e,
                c,
                0,
                &info.version,
                active.as_ref(),
                [true, false, confirmed, true, false],
            )
            .map_err(too_big)?;
            if slot1_present(info.state) {
                let staged = self.svc.staged_image(c).await.map_err(image_reply)?;
                let version = staged.map(|s| s.version).unwrap_or_default();
                let pending = info.state == PSA_FWU_STAGED;
                image_entry(
                    e,
                    c,
                    1,
                    &version,
                    staged.as_ref().map(|s| &s.digest),
                    [true, pending, false, false, false],
                )
                .map_err(too_big)?;
            }
        }
        e.str("splitStatus")
            .and_then(|e| e.u8(0))
            .map_err(too_big)?;
        Ok(())
    }

    /// Image state write: `confirm` (accept the trial, or the running image with no hash) or
    /// test (`install` the candidate whose hash is given). Answers with the new state.
    async fn image_state_write(&mut self, body: &[u8], e: &mut Enc<'_>) -> Handled {
        let mut hash: Option<&[u8]> = None;
        let mut confirm = false;
        let mut d = Decoder::new(body);
        for_each_entry(&mut d, |k, d| {
            match k {
                "hash" => hash = Some(d.bytes()?),
                "confirm" => confirm = d.bool()?,
                _ => d.skip()?,
            }
            Ok(())
        })
        .map_err(bad_request)?;
        let mut on_trial = false;
        let mut candidate = None;
        let mut trial_hash = false;
        for &c in self.images {
            let info = self.svc.query(c).await.map_err(image_reply)?;
            if info.state == PSA_FWU_TRIAL {
                on_trial = true;
                let active = self.svc.active_digest(c).await.map_err(image_reply)?;
                trial_hash |= hash.is_some() && active.as_ref().map(|a| &a[..]) == hash;
            }
            if matches!(info.state, PSA_FWU_CANDIDATE | PSA_FWU_STAGED)
                && hash == Some(&info.impl_.staged_digest[..])
            {
                candidate = Some((c, info.state));
            }
        }
        if confirm {
            match hash {
                // The running images: accept a trial, or nothing to do.
                None => {
                    if on_trial {
                        self.svc.accept().await.map_err(image_reply)?;
                    }
                }
                Some(_) if trial_hash => {
                    self.svc.accept().await.map_err(image_reply)?;
                }
                // A permanent install without a test boot: fwu always boots new images on
                // trial first.
                Some(_) if candidate.is_some() => {
                    return Err(Reply::image(mgmt::ENOTSUP, img::IMAGE_CONFIRMATION_DENIED));
                }
                Some(_) => {
                    // The running image's own hash confirms what is already permanent.
                    if !self.running_hash(hash).await? {
                        return Err(Reply::image(mgmt::EINVAL, img::HASH_NOT_FOUND));
                    }
                }
            }
        } else {
            match candidate {
                Some((_, PSA_FWU_CANDIDATE)) => {
                    self.svc.install().await.map_err(image_reply)?;
                }
                Some(_) => {}
                None => return Err(Reply::image(mgmt::EINVAL, img::HASH_NOT_FOUND)),
            }
        }
        self.image_state(e).await
    }

    /// Whether `hash` is the digest of an active image.
    async fn running_hash(&self, hash: Option<&[u8]>) -> Result<bool, Reply> {
        for &c in self.images {
            let active = self.svc.active_digest(c).await.map_err(image_reply)?;
            if active.as_ref().map(|a| &a[..]) == hash {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Image upload: the first chunk (`off` 0) starts a download (`len`, optional `image` and
    /// `sha`), each chunk is written, and the last one finishes it.
    async fn upload(&mut self, h: &Header, body: &[u8], e: &mut Enc<'_>) -> Handled {
        let mut r = UploadRequest::default();
        let mut d = Decoder::new(body);
        for_each_entry(&mut d, |k, d| {
            match k {
                "image" => r.image = Some(d.u32()?),
                "len" => r.len = Some(d.u32()?),
                "off" => r.off = Some(d.u32()?),
                "data" => r.data = Some(d.bytes()?),
                "sha" => r.sha = Some(d.bytes()?),
                _ => d.skip()?,
            }
            Ok(())
        })
        .map_err(bad_request)?;
        let (Some(off), Some(data)) = (r.off, r.data) else {
            return Err(Reply::mgmt(mgmt::EINVAL));
        };
        if off == 0 {
            self.begin_upload(&r).await?;
        }
        let Some(mut up) = self.upload else {
            return Err(Reply::image(mgmt::EINVAL, img::INVALID_OFFSET));
        };
        if off != up.next {
            // Not where the device is: tell the client where to continue.
            return write_off(e, h, up.next, None);
        }
        let end = off
            .checked_add(u32::try_from(data.len()).unwrap_or(u32::MAX))
            .filter(|&end| end <= up.len)
            .ok_or(Reply::image(mgmt::EINVAL, img::INVALID_IMAGE_DATA_OVERRUN))?;
        // Whole write units only, except for the image's last bytes: the client re-sends the
        // rest from the offset answered.
        let mut take = data.len();
        if end < up.len {
            take -= take % S::WRITE_ALIGN.max(1);
        }
        let mut done = 0usize;
        while done < take {
            let n = (take - done).min(PSA_FWU_MAX_WRITE_SIZE);
            let block = data.get(done..done + n).unwrap_or(&[]);
            let at = off as usize + done;
            if let Err(err) = self.svc.write(up.image, at, block).await {
                self.upload = None;
                return Err(image_reply(err));
            }
            done += n;
        }
        up.next = off + u32::try_from(take).unwrap_or(0);
        self.upload = Some(up);
        if up.next < up.len {
            return write_off(e, h, up.next, None);
        }
        // The last byte: verify the image (signature, policy) now, as MCUboot tools expect
        // the upload to report a bad image.
        self.upload = None;
        self.svc.finish(up.image).await.map_err(image_reply)?;
        write_off(e, h, up.len, up.sha.map(|_| true))
    }

    /// The first chunk of an upload: make the component writable and remember the upload. A
    /// first chunk that repeats the upload in progress (same image, length and hash) resumes
    /// it: the answer gives the offset reached.
    async fn begin_upload(&mut self, r: &UploadRequest<'_>) -> Result<(), Reply> {
        let image = self.check_image(r.image.unwrap_or(0))?;
        let len = r
            .len
            .filter(|&l| l > 0)
            .ok_or(Reply::image(mgmt::EINVAL, img::INVALID_LENGTH))?;
        let sha = match r.sha {
            Some(s) => Some(
                <[u8; 32]>::try_from(s)
                    .map_err(|_| Reply::image(mgmt::EINVAL, img::INVALID_HASH))?,
            ),
            None => None,
        };
        let info = self.svc.query(image).await.map_err(image_reply)?;
        if len > info.max_size {
            return Err(Reply::image(mgmt::EINVAL, img::INVALID_IMAGE_TOO_LARGE));
        }
        if let Some(up) = self.upload {
            let same = up.image == image && up.len == len && sha.is_some() && up.sha == sha;
            if same && info.state == PSA_FWU_WRITING {
                return Ok(());
            }
        }
        self.empty_second_slot(image, info.state).await?;
        self.svc.start(image).await.map_err(image_reply)?;
        self.upload = Some(Upload {
            image,
            len,
            sha,
            next: 0,
        });
        Ok(())
    }

    /// Bring component `c` (in PSA state `state`) to READY with an empty second slot: `cancel`
    /// a download or a candidate, `clean` a failed one or a backup. A pending update (STAGED,
    /// TRIAL, REJECTED) is refused: reboot or confirm first.
    async fn empty_second_slot(&self, c: ComponentId, state: u8) -> Result<(), Reply> {
        match state {
            PSA_FWU_READY => return Ok(()),
            PSA_FWU_WRITING | PSA_FWU_CANDIDATE => {
                self.svc.cancel(c).await.map_err(image_reply)?;
            }
            PSA_FWU_FAILED | PSA_FWU_UPDATED => {}
            _ => return Err(Reply::image(mgmt::EBADSTATE, img::IMAGE_ALREADY_PENDING)),
        }
        self.svc.clean(c).await.map(|_| ()).map_err(image_reply)
    }

    /// Image erase: the second slot of `image` (default 0) — `cancel` a download, `clean`.
    async fn erase(&mut self, body: &[u8], e: &mut Enc<'_>) -> Handled {
        let mut image = 0u32;
        let mut d = Decoder::new(body);
        if !body.is_empty() {
            for_each_entry(&mut d, |k, d| {
                match k {
                    "image" => image = d.u32()?,
                    _ => d.skip()?,
                }
                Ok(())
            })
            .map_err(bad_request)?;
        }
        let c = self.check_image(image)?;
        let info = self.svc.query(c).await.map_err(image_reply)?;
        self.empty_second_slot(c, info.state).await?;
        if self.upload.is_some_and(|u| u.image == c) {
            self.upload = None;
        }
        e.map(0).map_err(too_big)?;
        Ok(())
    }

    /// Slot info: both slots' sizes per image.
    async fn slot_info(&mut self, e: &mut Enc<'_>) -> Handled {
        e.map(1)
            .and_then(|e| e.str("images")?.array(self.images.len() as u64))
            .map_err(too_big)?;
        for &c in self.images {
            let info = self.svc.query(c).await.map_err(image_reply)?;
            e.map(3)
                .and_then(|e| e.str("image")?.u8(c))
                .and_then(|e| e.str("slots")?.array(2))
                .and_then(|e| {
                    e.map(2)?
                        .str("slot")?
                        .u8(0)?
                        .str("size")?
                        .u32(info.max_size)
                })
                .and_then(|e| {
                    e.map(3)?
                        .str("slot")?
                        .u8(1)?
                        .str("size")?
                        .u32(info.max_size)?
                        .str("upload_image_id")?
                        .u8(c)
                })
                .and_then(|e| e.str("max_image_size")?.u32(info.max_size))
                .map_err(too_big)?;
        }
        Ok(())
    }
}

/// Slot 1 is reported while it holds a verified image the tools can act on or see pending.
fn slot1_present(state: u8) -> bool {
    matches!(state, PSA_FWU_CANDIDATE | PSA_FWU_STAGED | PSA_FWU_REJECTED)
}

/// One image state entry. `flags`: bootable, pending, confirmed, active, permanent.
fn image_entry(
    e: &mut Enc<'_>,
    image: ComponentId,
    slot: u8,
    version: &ImageVersion,
    hash: Option<&[u8; 32]>,
    flags: [bool; 5],
) -> Result<(), EncError> {
    let mut text = [0u8; 32];
    let v = version_text(version, &mut text);
    e.map(if hash.is_some() { 9 } else { 8 })?
        .str("image")?
        .u8(image)?
        .str("slot")?
        .u8(slot)?
        .str("version")?
        .str(v)?;
    if let Some(h) = hash {
        e.str("hash")?.bytes(h)?;
    }
    let [bootable, pending, confirmed, active, permanent] = flags;
    e.str("bootable")?
        .bool(bootable)?
        .str("pending")?
        .bool(pending)?
        .str("confirmed")?
        .bool(confirmed)?
        .str("active")?
        .bool(active)?
        .str("permanent")?
        .bool(permanent)?;
    Ok(())
}

/// `version` as mcumgr prints it: `major.minor.revision`, then `.build` when it is not 0.
fn version_text<'t>(version: &ImageVersion, out: &'t mut [u8; 32]) -> &'t str {
    let mut n = 0usize;
    let mut put = |b: u8| {
        if let Some(slot) = out.get_mut(n) {
            *slot = b;
            n += 1;
        }
    };
    let parts = [
        u32::from(version.major),
        u32::from(version.minor),
        u32::from(version.patch),
        version.build,
    ];
    let count = if version.build == 0 { 3 } else { 4 };
    for (i, &part) in parts.iter().take(count).enumerate() {
        if i > 0 {
            put(b'.');
        }
        let mut digits = [0u8; 10];
        let mut len = 0;
        let mut v = part;
        loop {
            if let Some(d) = digits.get_mut(len) {
                *d = b'0' + (v % 10) as u8;
            }
            len += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        for &d in digits.iter().take(len).rev() {
            put(d);
        }
    }
    let written = out.get(..n).unwrap_or(&[]);
    core::str::from_utf8(written).unwrap_or("")
}

/// An upload answer: `off` (and `rc` 0 for v1), `match` after a checked hash.
fn write_off(e: &mut Enc<'_>, h: &Header, off: u32, matched: Option<bool>) -> Handled {
    let v1 = h.version != VERSION_2;
    let n = 1 + u64::from(v1) + u64::from(matched.is_some());
    let r = (|| -> Result<(), EncError> {
        e.map(n)?;
        if v1 {
            e.str("rc")?.u8(0)?;
        }
        e.str("off")?.u32(off)?;
        if let Some(m) = matched {
            e.str("match")?.bool(m)?;
        }
        Ok(())
    })();
    r.map_err(too_big)
}

/// OS echo: `d` back as `r`.
fn echo(body: &[u8], e: &mut Enc<'_>) -> Handled {
    let text = text_field(body, "d")?.ok_or(Reply::mgmt(mgmt::EINVAL))?;
    e.map(1)
        .and_then(|e| e.str("r")?.str(text))
        .map_err(too_big)?;
    Ok(())
}

/// The text value of `key` in the request map `body` (an empty body is an empty map).
fn text_field<'b>(body: &'b [u8], key: &str) -> Result<Option<&'b str>, Reply> {
    let mut value = None;
    if !body.is_empty() {
        for_each_entry(&mut Decoder::new(body), |k, d| {
            if k == key {
                value = Some(d.str()?);
            } else {
                d.skip()?;
            }
            Ok(())
        })
        .map_err(bad_request)?;
    }
    Ok(value)
}

/// Bootloader info: the name, or with `query: "mode"` the mode in MCUboot's numbering (9:
/// swap using offset, fwu's swap) and `no-downgrade` (fwu refuses downgrades).
fn bootloader_info(body: &[u8], e: &mut Enc<'_>) -> Handled {
    match text_field(body, "query")? {
        None => e
            .map(1)
            .and_then(|e| e.str("bootloader")?.str("fwu"))
            .map(|_| ()),
        Some("mode") => e
            .map(2)
            .and_then(|e| e.str("mode")?.u8(9)?.str("no-downgrade")?.bool(true))
            .map(|_| ()),
        Some(_) => return Err(Reply::mgmt(mgmt::ENOTSUP)),
    }
    .map_err(too_big)
}

/// An error answer in the form the request's version asks for.
fn write_error(e: &mut Enc<'_>, h: &Header, reply: Reply) -> Result<(), EncError> {
    if h.version == VERSION_2 {
        e.map(1)?
            .str("err")?
            .map(2)?
            .str("group")?
            .u16(reply.group)?
            .str("rc")?
            .u16(reply.group_rc)?;
    } else {
        e.map(1)?.str("rc")?.u16(reply.rc)?;
    }
    Ok(())
}
