const F=440,B=[440],Z={3104:((W,A,m)=>{m.d(A,{t:()=>v});var g=m(9114),y=m(1661),d=m(7521);function c(x){return d.xf.find(_=>_.name===x)?.default??""}function v(x,_={}){return{privateKey:x("ssh-private-key"),knownHosts:x("ssh-known-hosts"),acceptNewHostKeys:(0,g.q6)("ssh-accept-new-host-keys",x("ssh-accept-new-host-keys"),c("ssh-accept-new-host-keys")==="true"),extraOptions:(0,y.K_)(x("ssh-options")),sudo:(0,g.nL)("sudo",x("sudo"),["auto","true","false"],c("sudo")),connectTimeout:(0,g.EJ)("ssh-connect-timeout",x("ssh-connect-timeout"),Number(c("ssh-connect-timeout")),{max:600}),allowUserKnownHosts:_.terminal===!0}}}),9145:((W,A,m)=>{m.d(A,{$W:()=>M,jJ:()=>N,o9:()=>C});var g=m(9114);const y=[[/^would stop the following units(?: as well)?:/,"stop"],[/^would NOT stop the following changed units(?: as well)?:/,"notStopped"],[/^would NOT restart the following changed units(?: as well)?:/,"notStopped"],[/^would reload the following units:/,"reload"],[/^would restart the following units:/,"restart"],[/^would start the following units:/,"start"],[/^stopping the following units(?: as well)?:/,"stop"],[/^NOT restarting the following changed units(?: as well)?:/,"skipped"],[/^reloading the following units:/,"reload"],[/^restarting the following units:/,"restart"],[/^starting the following units:/,"start"],[/^the following new units were started:/,"newlyStarted"],[/^warning: the following units failed:/,"failed"],[/^warning: the following user units failed:/,"failedUserUnits"]],d=/^warning: user activation for ([A-Za-z0-9._@-]{1,64}\$?) failed$/,c=[/^would activate the configuration\.\.\.$/,/^activating the configuration\.\.\.$/],v=[/^would restart systemd$/,/^restarting systemd\.\.\.$/],x="service|socket|target|timer|mount|path|slice|scope|swap|automount|device",_=new RegExp(`^[A-Za-z0-9:_.@\\\\-]+\\.(?:${x})$`);function C(w){return w.length<=256&&_.test(w)}function N(w){const f={stop:new Set,restart:new Set,reload:new Set,start:new Set,notStopped:new Set,skipped:new Set,newlyStarted:new Set,failed:new Set,failedUserUnits:new Set},L=new Set;let U=!1;const E=[],S=(0,g.aJ)(String(w??"")).split(/\r?\n|\r/);for(let t=0;t<S.length;t++){const n=S[t].trim();if(n===""||c.some(e=>e.test(n)))continue;if(v.some(e=>e.test(n))){U=!0;continue}const p=d.exec(n);if(p){L.add(p[1]);continue}const $=y.find(([e])=>e.test(n));if(!$){E.push(n);continue}const[r,h]=$;let o=n.replace(r,"");for(;o.trim().endsWith(",")&&t+1<S.length&&S[t+1].trim()!=="";)t++,o+=" "+S[t].trim();let a=!1;for(const e of o.split(",")){const i=e.trim();i!==""&&(C(i)?f[h].add(i):a=!0)}a&&E.push(n)}const k=t=>[...t].sort();return{stop:k(f.stop),restart:k(f.restart),reload:k(f.reload),start:k(f.start),notStopped:k(f.notStopped),skipped:k(f.skipped),newlyStarted:k(f.newlyStarted),failed:k(f.failed),failedUserUnits:k(f.failedUserUnits),failedUsers:k(L),restartSystemd:U,lines:E}}function M(w){const f=[];return w.failed.length&&f.push(`units failed: ${w.failed.join(", ")}`),w.failedUserUnits.length&&f.push(`user units failed: ${w.failedUserUnits.join(", ")}`),w.failedUsers.length&&f.push(`user activation failed for ${w.failedUsers.join(", ")}`),f.length?f.join("; "):"units failed: see the log"}}),6045:((W,A,m)=>{m.d(A,{G:()=>o});var g=m(4296),y=m(9978),d=m(1661);const c="/run/nix-deploy",v="/nix/var/nix/profiles/system",x=`
restore_profile() {
  p=/nix/var/nix/profiles
  cur=$(readlink "$p/system" 2>/dev/null || true)
  if [ -n "$2" ] && [ -L "$p/$2" ] && [ "$(readlink -f "$p/$2")" = "$1" ]; then
    ln -sfn "$2" "$p/system.nix-deploy-tmp" && mv -T "$p/system.nix-deploy-tmp" "$p/system" || return 1
    if [ "$3" = delete ] && [ -n "$cur" ] && [ "$cur" != "$2" ] && [ "$(readlink -f "$p/$cur")" != "$1" ]; then
      n=\${cur#system-}; n=\${n%-link}
      nix-env -p "$p/system" --delete-generations "$n" >/dev/null 2>&1 || true
    fi
  else
    nix-env -p "$p/system" --set "$1" || return 1
  fi
}
`,_=`
probe_state() {
  want_path=$1
  cur=$(readlink -f /run/current-system 2>/dev/null || true)
  [ -n "$cur" ] && [ -e "$cur" ] || cur=
  gen=$(readlink ${v} 2>/dev/null || true)
  prof=$(readlink -f ${v} 2>/dev/null || true)
  boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || true)
  sd=no; if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then sd=yes; fi
  fl=no; if command -v flock >/dev/null 2>&1; then fl=yes; fi
  want=no; if [ -n "$want_path" ] && [ -e "$want_path" ]; then want=yes; fi
  act=no; if [ -n "$cur" ] && [ -x "$cur/bin/switch-to-configuration" ]; then act=yes; fi
  wreal=; if [ "$want" = yes ]; then wreal=$(readlink -f "$want_path" 2>/dev/null || true); fi
  spec=
  if [ -n "$cur" ] && [ -n "$prof" ] && [ "$cur" != "$prof" ] && [ -d "$prof/specialisation" ]; then
    for s in "$prof"/specialisation/*; do
      if [ "$(readlink -f "$s" 2>/dev/null)" = "$cur" ]; then spec=\${s##*/}; break; fi
    done
  fi
  printf 'current=%s\\ngeneration=%s\\nprofile=%s\\nboot=%s\\nsystemd=%s\\nflock=%s\\nhas-wanted=%s\\nactivatable=%s\\nwanted-real=%s\\nspecialisation=%s\\n' "$cur" "$gen" "$prof" "$boot" "$sd" "$fl" "$want" "$act" "$wreal" "$spec"
}
`,C=_+`
probe_state "$1"
`,N=_+`
d=$1
mkdir -p "$d" && chmod 700 "$d" || exit 70
exec 9>>"$d/lock" || exit 70
if ! flock -n 9; then
  echo "nix-deploy-lock-busy $(cat "$d/lock.info" 2>/dev/null | head -c 300 | tr '\\n' ' ')"
  exit 75
fi
printf '%s\\n' "$2" > "$d/lock.info"
probe_state "$4"
echo nix-deploy-lock-acquired
timeout "$3" cat > /dev/null
rm -f "$d/lock.info"
`,M=x+`
d=$1; id=$2
armed=$(cat "$d/armed-$id" 2>/dev/null || date +%s)
while :; do
  [ -e "$d/confirm-$id" ] && exit 0
  now=$(date +%s)
  if [ -s "$d/deadline-$id" ]; then deadline=$(cat "$d/deadline-$id")
  elif [ -s "$d/switch-$id.end" ]; then deadline=$(( $(cat "$d/switch-$id.end") + $3 ))
  else deadline=$(( armed + $6 + $3 )); fi
  [ "$now" -ge "$deadline" ] && break
  sleep 1
done
exec 7>"$d/wd-$id.lock"; flock 7
[ -e "$d/confirm-$id" ] && exit 0
exec >"$d/rollback-$id.log" 2>&1
flock -u 7
echo "nix-deploy: not confirmed by $(date -u +%Y-%m-%dT%H:%M:%SZ); restoring \${4:-nothing}"
if [ -z "$4" ]; then echo 3 > "$d/rollback-$id.exit"; exit 3; fi
# Wait for a running activation to end first (it may be the one that cut the connection).
n=0; while [ -e "$d/switch-$id.log" ] && [ ! -s "$d/switch-$id.exit" ] && [ $n -lt 600 ]; do sleep 1; n=$((n+1)); done
if [ "$5" != test ]; then restore_profile "\${8:-$4}" "$7" delete || { echo 1 > "$d/rollback-$id.exit"; exit 1; }; fi
if [ "$5" = boot ]; then act=boot; elif [ "$5" = test ]; then act=test; else act=switch; fi
"$4/bin/switch-to-configuration" "$act"
echo $? > "$d/rollback-$id.exit"
`,w=`
d=$1; id=$2
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/confirm-$id" "$d/deadline-$id" "$d/rollback-$id.log" "$d/rollback-$id.exit"
wd=$d/watchdog-$id.sh
(umask 077 && printf '%s
' "$7" > "$wd.tmp") && mv -f "$wd.tmp" "$wd" || exit 70
date +%s > "$d/armed-$id"
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --unit "nix-deploy-watchdog-$id" --collect --quiet --property=Type=exec --setenv=PATH="$PATH" -- /bin/sh "$wd" "$1" "$2" "$3" "$4" "$5" "$6" "$8" "$9" || exit 71
else
  setsid /bin/sh "$wd" "$1" "$2" "$3" "$4" "$5" "$6" "$8" "$9" </dev/null >/dev/null 2>&1 &
  echo $! > "$d/watchdog-$id.pid"
fi
echo armed
`,f=x+`
d=$1; id=$2; top=$3; act=$4; run=\${8:-$3}; ib=\${9:-}
[ -x "$run/bin/switch-to-configuration" ] || { echo "nix-deploy: $run has no bin/switch-to-configuration" >&2; exit 94; }
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/switch-$id.exit" "$d/switch-$id.end"
: > "$d/switch-$id.log"
if [ "$5" = set ]; then
  nix-env -p ${v} --set "$top" || { echo "nix-deploy: could not set the system profile" >&2; exit 90; }
elif [ "$5" = restore ] || [ "$5" = restore-delete ]; then
  restore_profile "$top" "$7" "\${5#restore-}" || { echo "nix-deploy: could not restore the system profile" >&2; exit 90; }
fi
echo "nix-deploy-profile $(readlink ${v} 2>/dev/null)"
# The detached job, as a file (not inside the unit: see the top of this file).
job=$d/switch-$id.sh
(umask 077 && printf '%s
' '"$1/bin/switch-to-configuration" "$2" >"$3" 2>&1; rc=$?; date +%s >"$4.end"; echo $rc >"$4.exit"' > "$job.tmp") && mv -f "$job.tmp" "$job" || exit 70
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --unit "nix-deploy-switch-$id" --collect --quiet --property=Type=exec --setenv=PATH="$PATH" --setenv=LOCALE_ARCHIVE="\${LOCALE_ARCHIVE:-}" --setenv=NIXOS_INSTALL_BOOTLOADER="$ib" -- /bin/sh "$job" "$run" "$act" "$d/switch-$id.log" "$d/switch-$id" || exit 71
else
  NIXOS_INSTALL_BOOTLOADER="$ib" setsid /bin/sh "$job" "$run" "$act" "$d/switch-$id.log" "$d/switch-$id" </dev/null >/dev/null 2>&1 &
fi
echo nix-deploy-activation-started
`+L();function L(){return`
n=0; limit=$(( $6 * 5 ))
while [ ! -s "$d/switch-$id.exit" ]; do
  sleep 0.2; n=$((n+1))
  if [ $n -ge $limit ]; then echo "nix-deploy: activation still running after $6 s" >&2; exit 91; fi
done
cat "$d/switch-$id.log" >&2
exit "$(cat "$d/switch-$id.exit")"
`}const U=`
if [ -x "$1/specialisation/$2/bin/switch-to-configuration" ]; then echo found; exit 0; fi
echo missing
for s in "$1"/specialisation/*; do [ -e "$s" ] && printf 'has %s\\n' "\${s##*/}"; done
exit 0
`,E=`
d=$1; id=$2
[ -e "$d/switch-$id.log" ] || { echo "nix-deploy: no activation $id on this host" >&2; exit 93; }
`+L(),S=`
d=$1; id=$2; n=0
while read -r beat; do
  [ -e "$d/rollback-$id.log" ] && { echo nix-deploy-fired; exit 92; }
  [ -e "$d/confirm-$id" ] && exit 0
  now=$(date +%s)
  echo $(( now + $3 )) > "$d/deadline-$id.tmp" && mv -f "$d/deadline-$id.tmp" "$d/deadline-$id"
  n=$((n+1)); echo "$n $now" > "$d/beats-$id"
  echo "nix-deploy-beat $beat"
done
`,k=`
d=$1; id=$2
exec 7>"$d/wd-$id.lock"; flock 7
if [ -e "$d/rollback-$id.log" ]; then echo fired; exit 92; fi
touch "$d/confirm-$id"
flock -u 7
if [ -s "$d/watchdog-$id.pid" ]; then kill "$(cat "$d/watchdog-$id.pid")" 2>/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl stop "nix-deploy-watchdog-$id.service" >/dev/null 2>&1 || true; fi
rm -f "$d/watchdog-$id.pid" "$d/watchdog-$id.sh" "$d/armed-$id" "$d/deadline-$id" "$d/wd-$id.lock"
echo confirmed
`,t=`
d=$1; id=$2
exec 7>"$d/wd-$id.lock"; flock 7
if [ -e "$d/rollback-$id.log" ]; then
  flock -u 7
  n=0; while [ ! -s "$d/rollback-$id.exit" ] && [ $n -lt 6000 ]; do sleep 0.1; n=$((n+1)); done
  echo "fired $(cat "$d/rollback-$id.exit" 2>/dev/null || echo running)"
  exit 0
fi
touch "$d/confirm-$id"
flock -u 7
if [ -s "$d/watchdog-$id.pid" ]; then kill "$(cat "$d/watchdog-$id.pid")" 2>/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl stop "nix-deploy-watchdog-$id.service" >/dev/null 2>&1 || true; fi
echo disarmed
`,n=`
d=$1; id=$2
if [ -e "$d/rollback-$id.log" ]; then
  echo "fired=$(cat "$d/rollback-$id.exit" 2>/dev/null || echo running)"
  sed 's/^/log=/' "$d/rollback-$id.log" | tail -n 20
else
  echo fired=no
fi
`,p=`
cd /nix/var/nix/profiles 2>/dev/null || exit 0
for l in system-*-link; do
  [ -L "$l" ] || continue
  n=\${l#system-}; n=\${n%-link}
  printf '%s %s\\n' "$n" "$(readlink -f "$l")"
done
`,$=`
setsid /bin/sh -c 'sleep 1; if [ -d /run/systemd/system ]; then systemctl reboot; else reboot; fi' </dev/null >/dev/null 2>&1 &
echo rebooting
`,r=6e4;function h(a){const e=/system-(\d+)-link$/.exec(a.trim());return e?Number(e[1]):null}class o{session;remote;logger;constructor(e,i,s){this.session=e,this.remote=i,this.logger=s}get host(){return this.remote.host}script(e,i,s,l,u=r,b=!0){return(0,d.mW)(this.session,this.remote,e,i,{timeoutMs:u,phase:s,what:l,logger:this.logger,check:b})}async connect(e,i){const s=(this.session.settings.connectTimeout+30)*1e3,l=await this.session.connect(this.remote,{timeoutMs:s,logger:this.logger});if(l)throw(0,d.vU)(this.remote,l,{phase:e,what:i,timeoutMs:s})}async probe(e,i="probe"){const s=await this.script(C,[e],i,"reading the current system");return this.parseProbe(s.stdout.split(`
`),i)}parseProbe(e,i){const s=new Map;for(const l of e){const u=l.indexOf("=");u>0&&s.set(l.slice(0,u),l.slice(u+1).trim())}if(!s.has("current"))throw(0,g.FT)({host:this.host,phase:i,kind:"host-state"},"the host's answer could not be read (is its login shell POSIX?)");return{current:s.get("current")||null,generation:h(s.get("generation")??""),generationLink:/^system-\d+-link$/.test(s.get("generation")??"")?s.get("generation"):null,profile:s.get("profile")||null,bootId:s.get("boot")??"",systemd:s.get("systemd")==="yes",flock:s.get("flock")==="yes",hasWanted:s.get("has-wanted")==="yes",activatable:s.get("activatable")==="yes",wantedReal:s.get("wanted-real")||null,specialisation:s.get("specialisation")||null}}async lock(e,i,s=""){const u=[...this.session.needsSudo(this.remote)?["sudo","-n","--"]:[],"sh","-c",N,"nix-deploy",c,e,String(i),s],b=(0,y.kp)(this.session.sshArgv(this.remote,u.map(y.ZL).join(" ")),{timeoutMs:(i+60)*1e3,logger:this.logger}),I=await b.waitForLine(P=>P.startsWith("nix-deploy-lock-"),6e4);if(I==="nix-deploy-lock-acquired")return{state:this.parseProbe(b.lines,"lock"),release:async()=>{b.closeInput(),await Promise.race([b.done,new Promise(H=>setTimeout(H,5e3,null))])===null&&b.kill()}};b.kill();const O=await b.done,R={host:this.host,phase:"lock"};if(I?.startsWith("nix-deploy-lock-busy")){const P=I.slice(20).trim();throw(0,g.FT)({...R,kind:"busy"},`another deploy is running on this host${P?` (${P})`:""}; try again when it has finished`)}if(O.exitCode===d.M2)throw(0,g.FT)({...R,kind:"connection"},`could not connect: ${(0,d.eG)(O.stderr)}`);const T=O.stderr.trim().split(`
`).pop()??"";throw(0,g.FT)({...R,kind:"command",detail:O.stderr},`could not take the deploy lock${O.exitCode===127?" (flock is missing on the host)":T?`: ${T}`:""}`)}async armWatchdog(e,i,s,l,u,b,I=null){const O=[c,e,String(i),s??"",u,String(b),M,l??"",I??""];await this.script(w,O,"arm","arming the rollback watchdog")}async activate(e,i,s,l,u,b,I="",O={}){const R=[c,e,i,s,l,String(u),I,O.path??"",O.installBootloader?"1":""],T=await(0,d.mW)(this.session,this.remote,f,R,{timeoutMs:(u+30)*1e3,phase:"activate",what:"activating",logger:this.logger,check:!1,onStderrLine:b}),P=T.stdout.split(`
`).find(j=>j.startsWith("nix-deploy-profile ")),H=T.stdout.includes("nix-deploy-activation-started"),D=T.exitCode===d.M2||T.timedOut||H&&T.exitCode===null;return{exitCode:D?null:T.exitCode,output:T.stderr,connectionLost:D,profileLink:P?P.slice(19).trim():null}}async specialisation(e,i){const l=(await this.script(U,[e,i],"activate","looking for the specialisation")).stdout.split(`
`);return{found:l.includes("found"),names:l.filter(u=>u.startsWith("has ")).map(u=>u.slice(4).trim())}}async waitActivation(e,i){const s=await(0,d.mW)(this.session,this.remote,E,[c,e,"","","",String(i)],{timeoutMs:(i+30)*1e3,phase:"activate",what:"waiting for the activation",logger:this.logger,check:!1}),l=s.exitCode===d.M2||s.timedOut;return{exitCode:l?null:s.exitCode,output:s.stderr,connectionLost:l}}heartbeatChannel(e,i,s){const u=[...this.session.needsSudo(this.remote)?["sudo","-n","--"]:[],"sh","-c",S,"nix-deploy",c,e,String(i)];return(0,y.kp)(this.session.sshArgv(this.remote,u.map(y.ZL).join(" ")),{timeoutMs:s*1e3,logger:this.logger})}freshLogin(e){return(0,d.mW)(this.session,this.remote,"true",[],{timeoutMs:r,phase:e,what:"a new SSH connection to the host",privileged:!1,check:!1,fresh:!0,logger:this.logger})}async confirm(e){const i=await this.script(k,[c,e],"confirm","confirming the deployment",r,!1);if(i.exitCode===0)return"confirmed";if(i.exitCode===92)return"fired";throw(0,g.FT)({host:this.host,phase:"confirm",kind:i.exitCode===d.M2?"connection":"command"},i.exitCode===d.M2?`confirming failed: ${(0,d.eG)(i.stderr)}`:`confirming failed with exit code ${i.exitCode}`)}async disarm(e){const s=(await this.script(t,[c,e],"rollback","disarming the watchdog",10*r)).stdout.trim().split(`
`).pop()??"";return s.startsWith("fired")?{fired:!0,exit:s.slice(6).trim()}:{fired:!1,exit:""}}async watchdogState(e){const s=(await this.script(n,[c,e],"rollback","reading the watchdog",r)).stdout.split(`
`),l=(s.find(u=>u.startsWith("fired="))??"fired=no").slice(6);return{fired:l!=="no",exit:l==="no"?"":l,log:s.filter(u=>u.startsWith("log=")).map(u=>u.slice(4))}}async generations(e="resolve"){return(await this.script(p,[],e,"listing the system generations")).stdout.split(`
`).map(s=>/^(\d+) (\/\S+)$/.exec(s.trim())).filter(s=>s!==null).map(s=>({generation:Number(s[1]),storePath:s[2]})).sort((s,l)=>s.generation-l.generation)}async reboot(){await this.script($,[],"reboot","rebooting the host")}async waitForBoot(e,i){const s=Date.now()+i*1e3;for(;Date.now()<s;){await new Promise(l=>setTimeout(l,1e3));try{const l=await this.probe("","reboot");if(l.bootId&&l.bootId!==e)return l}catch{}}return null}}}),2426:((W,A,m)=>{m.d(A,{Fm:()=>C,UD:()=>k,zw:()=>x});var g=m(4296),y=m(6224),d=m(4294);const c=`cs: builtins.mapAttrs (name: c:
  let
    try = v: let r = builtins.tryEval v; in if r.success then r.value else null;
    cfg = c.config or {};
    dep = try (cfg.deployment or null);
    str = v: if builtins.isString v then v else null;
  in {
    hostName = str (try (cfg.networking.hostName or null));
    fqdn = str (try (cfg.networking.fqdn or null));
    system = str (try (cfg.nixpkgs.hostPlatform.system or cfg.nixpkgs.system or c.pkgs.stdenv.hostPlatform.system or null));
    targetHost = if dep == null then null else str (try (dep.targetHost or null));
    targetUser = if dep == null then null else str (try (dep.targetUser or null));
    targetPort = if dep == null then null else (let p = try (dep.targetPort or null); in if builtins.isInt p then p else null);
    tags = if dep == null then [] else (let t = try (dep.tags or []); in if builtins.isList t then builtins.filter builtins.isString t else []);
  }) cs`,v=`d:
  let
    str = v: if builtins.isString v then v else null;
    opts = v: if builtins.isList v then builtins.filter builtins.isString v else [];
  in {
    sshUser = str (d.sshUser or null);
    sshOpts = opts (d.sshOpts or []);
    nodes = builtins.mapAttrs (n: v: {
      hostname = str (v.hostname or null);
      sshUser = str (v.sshUser or null);
      user = str (v.user or null);
      sshOpts = opts (v.sshOpts or []);
    }) (d.nodes or {});
  }`;async function x(t,n={}){const p=await(0,y.g1)(`${t}#nixosConfigurations`,{apply:c,logger:n.logger,cwd:n.cwd,phase:"evaluate",what:`evaluating the hosts of '${t}'`});if(p===void 0)throw new g.lZ(`The flake '${t}' has no nixosConfigurations output, so it has no hosts.`,{phase:"evaluate",input:"flake"});const $=await(0,y.g1)(`${t}#deploy`,{apply:v,logger:n.logger,cwd:n.cwd,phase:"evaluate",what:`evaluating deploy.nodes of '${t}'`});return Object.keys(p).sort().map(r=>_(r,p[r],$))}function _(t,n,p){(0,d.Eo)(t,"A nixosConfigurations attribute name");const $=Array.isArray(n.tags)?n.tags:[];for(const r of $)if(!/^[A-Za-z0-9._-]{1,64}$/.test(r))throw new g.lZ(`Host ${t} has an invalid tag in deployment.tags (letters, digits, '.', '_' and '-' only).`,{host:t,phase:"evaluate"});try{return M(t,n.system),{name:t,system:n.system,hostName:n.hostName,fqdn:n.fqdn,tags:$,...N(t,n,p)}}catch(r){if(!(r instanceof g.lZ))throw r;return{name:t,system:n.system,hostName:n.hostName,fqdn:n.fqdn,tags:$,target:null,targetError:r,targetSource:"",sshOptions:[]}}}function C(t){if(t.target)return t.target;throw t.targetError??new g.lZ(`Host ${t.name} has no SSH target.`,{host:t.name})}function N(t,n,p){const $=p?.nodes?.[t];let r,h,o=[];if($?.hostname){h=`Host ${t}'s deploy.nodes.${t}.hostname`;const a=$.sshUser??p?.sshUser??null;r=(0,d.hu)(a?`${a}@${w($.hostname)}`:w($.hostname),h);const e=[...f(p?.sshOpts),...f($.sshOpts)];o=U(e,`deploy.nodes.${t}.sshOpts`,t);const i=o.indexOf("-p");i>=0&&(r={...r,port:Number(o[i+1])},o=[...o.slice(0,i),...o.slice(i+2)])}else if(n.targetHost){h=`Host ${t}'s config.deployment.targetHost`;let a=w(n.targetHost);n.targetUser&&(a=`${n.targetUser}@${a}`),n.targetPort&&(a=`${a}:${n.targetPort}`),r=(0,d.hu)(a,h)}else n.fqdn?(h=`Host ${t}'s config.networking.fqdn`,r=(0,d.hu)(n.fqdn,h)):n.hostName?(h=`Host ${t}'s config.networking.hostName`,r=(0,d.hu)(n.hostName,h)):(h=`Host ${t}'s attribute name`,r=(0,d.hu)(t,h));return{target:r,targetSource:h,sshOptions:o}}function M(t,n){if(!(n===null||/^[A-Za-z0-9_]{1,32}(?:-[A-Za-z0-9_]{1,32}){1,3}$/.test(n)))throw new g.lZ(`Host ${t}'s nixpkgs.hostPlatform.system is ${S(n)}, which is not a Nix system name such as x86_64-linux.`,{host:t,phase:"evaluate"})}function w(t){return t.includes(":")&&!t.startsWith("[")?`[${t}]`:t}function f(t){return Array.isArray(t)?t.filter(n=>typeof n=="string"):[]}const L=new Set(["port","connecttimeout","connectionattempts","serveraliveinterval","serveralivecountmax","compression","ipqos","addressfamily","tcpkeepalive"]);function U(t,n,p){const $=[],r=(h,o)=>{throw new g.lZ(`Host ${p}: ${n} contains the ssh option '${S(h)}', which is not allowed from flake data (${o}); pass it through the workflow's 'ssh-options' input instead.`,{host:p,phase:"evaluate"})};for(let h=0;h<t.length;h++){const o=t[h];if(o==="-4"||o==="-6"||o==="-C")$.push(o);else if(o==="-p"||o.startsWith("-p")){const a=o==="-p"?t[++h]:o.slice(2);(!a||!E(a))&&r(`${o} ${a??""}`.trim(),"the port must be a number from 1 to 65535"),$.push("-p",a)}else if(o==="-J"||o.startsWith("-J"))r(o,"a jump host would be reached without the pinned key and known hosts");else if(o==="-o"||o.startsWith("-o")){const a=o==="-o"?t[++h]:o.slice(2),e=/^([A-Za-z]+)\s*[= ]\s*([A-Za-z0-9@._:[\]-]{1,255})$/.exec(a??"");e||r(a??o,"expected -o Key=Value"),L.has(e[1].toLowerCase())||r(`-o${a}`,`'${e[1]}' can run commands, reach other hosts or weaken host key checking`),e[2].startsWith("-")&&r(`-o${a}`,"a value may not start with -"),e[1].toLowerCase()==="port"&&!E(e[2])&&r(`-o${a}`,"the port must be a number from 1 to 65535"),$.push("-o",`${e[1]}=${e[2]}`)}else r(o,"only -p, -4, -6, -C and a few -o options are accepted")}return $}function E(t){return/^[1-9][0-9]{0,4}$/.test(t)&&Number(t)<=65535}function S(t){const n=JSON.stringify(t).slice(1,-1);return n.length>60?`${n.slice(0,57)}...`:n}async function k(t,n,p={}){for(const o of n)(0,d.Eo)(o,`host '${o}'`);const r=`cs: builtins.listToAttrs (map (n: { name = n; value = cs.\${n}.config.system.build.toplevel.drvPath; }) (builtins.filter (n: cs ? \${n}) ${`[ ${n.map(y.z7).join(" ")} ]`}))`;return await(0,y.g1)(`${t}#nixosConfigurations`,{apply:r,logger:p.logger,cwd:p.cwd,phase:p.phase??"evaluate",what:`evaluating the toplevel derivations of ${n.length} host(s) in '${t}'`})??{}}}),6228:((W,A,m)=>{m.d(A,{L:()=>y,a:()=>g});function g(d){if(d<1e3)return`${d} ms`;const c=d/1e3;if(c<60)return`${c.toFixed(1)} s`;const v=Math.floor(c/60);return`${v} min ${Math.round(c-v*60)} s`}function y(d,c,v=`${c}s`){return`${d} ${d===1?c:v}`}})};export{F as id,B as ids,Z as modules};
