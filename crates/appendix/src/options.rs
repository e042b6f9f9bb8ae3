//! What the caller can tell the parser.

/// Options for [`parse_appendix_with`](crate::parse_appendix_with).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Agency names and aliases the caller knows ("Sở Thông tin và Truyền
    /// thông", "Sở TT&TT", "UBND cấp huyện", …), compared case-insensitively
    /// word by word. Only text without cell delimiters (PDF text) needs
    /// them, to tell where the task text ends and where the lead and
    /// coordinator cells begin; without them the reader falls back on
    /// typical name starts ("Sở", "UBND", "Văn phòng", "Công an", …) and
    /// warns more often. Delimited tables use them only to flag two names
    /// joined by a line break.
    pub known_agencies: Vec<String>,
}
