-- What installer/windows/printrelay.wxs needs that wixl 0.101 cannot write, applied to
-- each built MSI by scripts/package/msi.sh with msitools' msibuild. One statement a
-- line, no semicolons (msibuild runs one statement per -q argument); lines starting
-- with two dashes and empty lines are skipped. MSI SQL: strings in single quotes, names
-- in backquotes. @UPGRADE_CODE@ and @VERSION@ are the package's own.

-- Component conditions: wixl reads no <Condition> inside a <Component>. A preset is
-- written only when its property is set (on the command line, or found by AppSearch in
-- the version being upgraded); the Run entry unless AUTOSTART=0.
UPDATE `Component` SET `Condition` = 'AUTOSTART<>"0"' WHERE `Component` = 'RunEntry'
UPDATE `Component` SET `Condition` = 'SERVER_URL' WHERE `Component` = 'PresetServerUrl'
UPDATE `Component` SET `Condition` = 'TOKEN' WHERE `Component` = 'PresetToken'
UPDATE `Component` SET `Condition` = 'CLIENT_ID' WHERE `Component` = 'PresetClientId'
UPDATE `Component` SET `Condition` = 'PRINTER' WHERE `Component` = 'PresetPrinter'
UPDATE `Component` SET `Condition` = 'AUTOSTART' WHERE `Component` = 'PresetAutostart'

-- MajorUpgrade AllowSameVersionUpgrades="yes" (wixl 0.101 ignores it): the upgrade
-- row includes its maximum (msidbUpgradeAttributesMigrateFeatures 1 +
-- msidbUpgradeAttributesVersionMaxInclusive 512), so a rebuild of the same version
-- replaces the installed one instead of going beside it. Attributes is part of the
-- table's key, which UPDATE cannot change: the row is replaced.
DELETE FROM `Upgrade` WHERE `ActionProperty` = 'WIX_UPGRADE_DETECTED'
INSERT INTO `Upgrade` (`UpgradeCode`, `VersionMax`, `Attributes`, `ActionProperty`) VALUES ('@UPGRADE_CODE@', '@VERSION@', 513, 'WIX_UPGRADE_DETECTED')

-- Property Secure="yes" (wixl 0.101 has no such attribute): the presets reach the
-- elevated part of a per-machine install whoever starts it.
UPDATE `Property` SET `Value` = 'WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;SERVER_URL;TOKEN;CLIENT_ID;PRINTER;AUTOSTART;REMOVE_USER_DATA' WHERE `Property` = 'SecureCustomProperties'
