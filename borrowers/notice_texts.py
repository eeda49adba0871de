"""The texts of the first authorization notice version (kept free of model imports so
that migrations can use them)."""

FIRST_VERSION = "2026-01"

TEMPLATE_ZH = """信易贷平台公共信用信息查询使用授权书（版本 {version}）

授权企业：{enterprise}（统一社会信用代码：{uscc}）
被授权机构：{grantee}
授权用途：{purpose}
授权查询的数据类别：{categories}
授权期限：自 {valid_from} 起至 {valid_to} 止
数据保存期限：授权终止后最长保存 {retention_days} 天，期满删除或匿名化处理

本企业同意被授权机构在上述期限内，仅为上述用途，通过信易贷平台查询、使用上述类别的公共信用信息。
被授权机构的每一次查询都会被记录，本企业可随时在平台查看“谁查看了我的数据”。
本企业可随时在平台一键撤回本授权，撤回自下一次查询起立即生效，尚未执行的数据拉取将被取消。
本企业对数据有异议的，可通过平台提出异议或信用修复申请。"""

TEMPLATE_EN = """Authorization to query and use public credit information on the Xinyidai platform (version {version})

Enterprise: {enterprise} (Unified Social Credit Code {uscc})
Grantee: {grantee}
Purpose: {purpose}
Data categories: {categories}
Valid: from {valid_from} to {valid_to}
Retention: the grantee keeps the data at most {retention_days} days after this authorization ends, then deletes or anonymizes it

The enterprise allows the grantee, during the period above and only for the purpose above, to query and use the public credit information of the categories above through the Xinyidai platform.
Every query by the grantee is logged, and the enterprise can see at any time who looked at its data.
The enterprise can revoke this authorization at any time with one click; the revocation takes effect from the very next query and cancels pending data pulls.
The enterprise can file an objection or a credit-repair request about any of this data through the platform."""
