//! Colours by role, and the styles every pane shares. Only the eight named ANSI colours are
//! used, never white or black, so the terminal's own palette keeps text readable on dark and
//! light backgrounds; `NO_COLOR` drops colour entirely and leaves badges, symbols and
//! modifiers (bold, reverse) to carry the meaning.

use ratatui::style::{Color, Modifier, Style};

use super::rows::Group;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

/// Whether the environment asks for colour: `NO_COLOR` set to anything non-empty turns it off
/// (<https://no-color.org>).
pub fn color_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

impl Theme {
    pub fn new(color: bool) -> Theme {
        Theme { color }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    /// The colour of a group's rows, bars and badge; private link wins over the role, since
    /// whether traffic stays in the network is the first thing a reader checks.
    pub fn group(&self, g: Group, private_link: bool) -> Style {
        if private_link {
            return self.fg(Color::Magenta);
        }
        match g {
            Group::Login => self.fg(Color::Cyan),
            Group::Auth => self.fg(Color::Red),
            Group::DataDedicated | Group::Data => self.fg(Color::Green),
            Group::DataStorage => self.fg(Color::Yellow),
            Group::Dns => self.fg(Color::Blue),
            Group::Other => Style::new(),
        }
    }

    pub fn heading(&self, g: Group, private_link: bool) -> Style {
        self.group(g, private_link).add_modifier(Modifier::BOLD)
    }

    pub fn dns_mark(&self) -> Style {
        self.fg(Color::Blue).add_modifier(Modifier::BOLD)
    }

    pub fn bold(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn dim(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn title(&self, focused: bool) -> Style {
        if focused {
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    pub fn good(&self) -> Style {
        self.fg(Color::Green).add_modifier(Modifier::BOLD)
    }

    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn private(&self) -> Style {
        self.fg(Color::Magenta).add_modifier(Modifier::BOLD)
    }

    pub fn key(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_keeps_modifiers_but_no_colour() {
        let t = Theme::new(false);
        for g in Group::ALL {
            for pl in [false, true] {
                assert_eq!(t.group(g, pl).fg, None);
                assert!(t.heading(g, pl).add_modifier.contains(Modifier::BOLD));
            }
        }
        assert_eq!(t.selected().add_modifier, Modifier::REVERSED);
        let c = Theme::new(true);
        assert_eq!(c.group(Group::Login, false).fg, Some(Color::Cyan));
        assert_eq!(c.group(Group::Login, true).fg, Some(Color::Magenta));
        // Neither white nor black: those vanish on one of the two backgrounds.
        for g in Group::ALL {
            let fg = c.group(g, false).fg;
            assert!(!matches!(fg, Some(Color::White | Color::Black | Color::Gray | Color::DarkGray)), "{g:?}");
        }
    }
}
